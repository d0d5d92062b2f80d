"""A Network in words: its repr (one line per layer) and summary()'s table of output shapes and parameter counts."""


def _parameter_count(layer):
    return sum(p.size for p in layer.parameters())


def network_repr(net):
    """`Network(loss='mse', input_shape=(28, 28, 1)): 3 layers` and one line per layer."""
    loss = net.loss_name or getattr(net.loss, "__name__", None) or net.loss
    shape = "" if net.input_shape is None else f", input_shape={net.input_shape}"
    lines = [f"{type(net).__name__}(loss={loss!r}{shape}): {len(net.layers)} layers"]
    for layer in net.layers:
        count = _parameter_count(layer)
        lines.append(f"  {layer.name:<24} {layer!r}" + (f"  {count:,} parameters" if count else ""))
    return "\n".join(lines)


def summary_table(net):
    """Each layer's name, output shape and parameter count, and the total, for a built network."""
    rows, shape = [], net.input_shape
    for layer in net.layers:
        shape = layer.output_shape(shape)
        rows.append((layer.name, str((None,) + shape), _parameter_count(layer)))
    width = max(len(r[0]) for r in rows) + 2
    rule = "-" * (width + 32)
    lines = [f"{'layer':<{width}}{'output shape':<22}{'parameters':>10}", rule]
    lines += [f"{name:<{width}}{out:<22}{count:>10,}" for name, out, count in rows]
    lines += [rule, f"{'total':<{width}}{'':<22}{sum(r[2] for r in rows):>10,}"]
    return "\n".join(lines)
