"""Run in each container of a resilience stack before its cold start (resilience_stack.compress_backoff):
urllib3's backoff between retries sleeps `factor` of its time, and the backoff it meant is
appended to the `record` file, one number a line (containers write there in parallel)."""

import time


def compress_backoff(factor: float, record: str) -> None:
    from urllib3.util import retry

    def sleep_backoff(self: retry.Retry) -> None:
        backoff = self.get_backoff_time()
        with open(record, "a") as out:
            out.write(f"{backoff}\n")
        if backoff > 0:
            time.sleep(backoff * factor)

    retry.Retry._sleep_backoff = sleep_backoff
