"""Download files of a Zenodo record, verified against the md5 checksums the record publishes.

urllib3's Retry retries connection errors, timeouts, 429 and 5xx with backoff; pooch writes
each file under a temporary name, checks its md5, renames it only when it matches, and
downloads again when the connection drops mid-file or the checksum is wrong.
"""

import logging
from dataclasses import dataclass
from pathlib import Path

import pooch
import requests
from requests.adapters import HTTPAdapter
from tqdm import tqdm
from urllib3.util.retry import Retry

from mnist_cnn import InputError
from mnist_cnn.urls import check_secure_url

log = logging.getLogger(__name__)

RETRY_STATUSES = (429, 500, 502, 503, 504)


class DownloadError(InputError):
    """The record or a file could not be fetched, or did not match its checksum."""


@dataclass(frozen=True)
class RecordFile:
    key: str
    size: int
    md5: str
    url: str


def http_session(retries: int, backoff: float) -> requests.Session:
    retry = Retry(
        total=retries,
        backoff_factor=backoff,
        status_forcelist=RETRY_STATUSES,
        allowed_methods={"GET"},
        respect_retry_after_header=True,
    )
    session = requests.Session()
    session.mount("http://", HTTPAdapter(max_retries=retry))
    session.mount("https://", HTTPAdapter(max_retries=retry))
    return session


def _get(session: requests.Session, url: str, timeout: float, **kwargs) -> requests.Response:
    """GET with the session's retries; what is still failing after them is a DownloadError."""
    try:
        response = session.get(url, timeout=timeout, **kwargs)
    except requests.exceptions.RequestException as error:
        raise DownloadError(f"could not fetch {url} (retries exhausted): {error}") from error
    if not response.ok:
        raise DownloadError(f"could not fetch {url}: HTTP {response.status_code} {response.reason}")
    return response


def record_files(
    session: requests.Session, zenodo_url: str, record: int | str, timeout: float
) -> dict[str, RecordFile]:
    """The record's files by name, from the Zenodo REST API."""
    url = f"{zenodo_url.rstrip('/')}/api/records/{record}"
    try:
        files = _get(session, url, timeout).json()["files"]
        return {
            f["key"]: RecordFile(
                key=f["key"],
                size=int(f["size"]),
                md5=f["checksum"].removeprefix("md5:"),
                url=f["links"]["self"],
            )
            for f in files
        }
    except (ValueError, KeyError, TypeError) as error:
        raise DownloadError(
            f"{url} did not answer like the Zenodo records API "
            f"(expected JSON with files[].key/size/checksum/links.self): {error!r}"
        ) from error


class SessionDownloader:
    """A pooch downloader that streams with our retrying session and logs progress."""

    def __init__(self, session: requests.Session, timeout: float, file: RecordFile):
        self.session = session
        self.timeout = timeout
        self.file = file

    def __call__(self, url: str, output_file: str, pooch_obj=None, check_only=False) -> None:
        response = _get(self.session, url, self.timeout, stream=True)
        with (
            response,
            open(output_file, "wb") as out,
            tqdm(
                total=self.file.size,
                unit="B",
                unit_scale=True,
                desc=self.file.key,
                mininterval=2,
                ascii=True,
            ) as progress,
        ):
            # A dropped connection raises requests' ChunkedEncodingError here, which
            # pooch answers with a fresh download.
            for chunk in response.iter_content(chunk_size=1 << 20):
                out.write(chunk)
                progress.update(len(chunk))


def download(
    zenodo_url: str,
    record: int | str,
    names: list[str],
    dest_dir: Path,
    retries: int = 5,
    backoff: float = 1.0,
    timeout: float = 60.0,
) -> list[Path]:
    """Download ``names`` from the record into ``dest_dir``; return their paths."""
    check_secure_url(zenodo_url)
    session = http_session(retries, backoff)
    files = record_files(session, zenodo_url, record, timeout)
    for name in names:
        if name in files:
            check_secure_url(files[name].url, f"Zenodo record {record}'s link to {name}")
    missing = [name for name in names if name not in files]
    if missing:
        raise DownloadError(
            f"Zenodo record {record} at {zenodo_url} has no file {', '.join(missing)} "
            f"(it has: {', '.join(sorted(files)) or 'no files'})"
        )
    fetcher = pooch.create(
        path=dest_dir,
        base_url="",
        registry={name: f"md5:{files[name].md5}" for name in names},
        urls={name: files[name].url for name in names},
        retry_if_failed=retries,
    )
    paths = []
    for name in names:
        log.info("%s: %d bytes from %s", name, files[name].size, files[name].url)
        downloader = SessionDownloader(session, timeout, files[name])
        try:
            paths.append(Path(fetcher.fetch(name, downloader=downloader)))
        except (ValueError, requests.exceptions.RequestException) as error:
            # pooch's checksum message names the file and both checksums
            raise DownloadError(f"{name}: {error}") from error
    return paths
