"""Downloads bounded as a whole, not only per read: a server trickling a byte at a time cannot keep one going."""
import threading
import time

DOWNLOAD_TIMEOUT = 3  # seconds to connect or wait for data: offline machines give up fast
# The whole download is bounded too, since a server trickling a byte at a time never trips the timeout above:
DOWNLOAD_MIN_RATE = 50_000  # bytes/s on average once DOWNLOAD_GRACE seconds have passed (MNIST's 11 MB: < 4 min)
DOWNLOAD_GRACE = 10
DOWNLOAD_DEADLINE = 300  # seconds, however fast


class DownloadTooSlow(TimeoutError):
    """A download that missed DOWNLOAD_MIN_RATE or DOWNLOAD_DEADLINE; its message says by how much."""


class BoundedDownloader:
    """A pooch downloader whose whole download is bounded, not only each wait: connecting and each read within
    `timeout` seconds, an average of `min_rate` bytes/s after `grace` seconds, and `deadline` seconds in all.

    The transfer runs in a daemon thread that this one watches; a transfer given up on stops at its next chunk.
    """

    def __init__(self, progressbar=False, timeout=None, min_rate=None, grace=None, deadline=None):
        self.progressbar = progressbar
        self.timeout = DOWNLOAD_TIMEOUT if timeout is None else timeout
        self.min_rate = DOWNLOAD_MIN_RATE if min_rate is None else min_rate
        self.grace = DOWNLOAD_GRACE if grace is None else grace
        self.deadline = DOWNLOAD_DEADLINE if deadline is None else deadline

    def __call__(self, url, output_file, pooch_object=None, check_only=False):
        state = {"received": 0, "error": None, "cancelled": False}
        worker = threading.Thread(target=self._transfer, args=(url, output_file, state), daemon=True)
        started = time.monotonic()
        worker.start()
        while worker.is_alive():
            worker.join(0.1)
            elapsed = time.monotonic() - started
            slow = elapsed > self.grace and state["received"] < self.min_rate * elapsed
            if worker.is_alive() and (slow or elapsed > self.deadline):
                state["cancelled"] = True
                raise DownloadTooSlow(f"too slow: {state['received'] / 1e6:.2f} MB in {elapsed:.0f} s, below "
                                      f"{self.min_rate / 1e3:.0f} kB/s" if slow else
                                      f"not finished within {self.deadline:.0f} s")
        if state["error"] is not None:
            raise state["error"]

    def _transfer(self, url, output_file, state):
        import requests
        from tqdm.auto import tqdm

        try:
            with requests.get(url, stream=True, timeout=self.timeout) as response:
                response.raise_for_status()
                total = int(response.headers.get("content-length", 0)) or None
                with open(output_file, "wb") as file, tqdm(total=total, unit="B", unit_scale=True, leave=False,
                                                           disable=not self.progressbar) as bar:
                    for chunk in response.iter_content(chunk_size=1 << 16):
                        if state["cancelled"]:
                            return
                        file.write(chunk)
                        state["received"] += len(chunk)
                        bar.update(len(chunk))
        except Exception as error:  # handed to the watching thread, which raises it
            state["error"] = error
