"""The check of a download URL, apart from the download itself: the Snakefile imports it, and the
Snakefile may import only what Snakemake installs (and the standard library)."""

import ipaddress
import urllib.parse

from mnist_cnn import InputError


def check_secure_url(url: str, what: str = "zenodo.url") -> None:
    """Refuse a URL that is not https://, but for plain http:// to a loopback address.

    The md5 each download is checked against comes from the same server: over plain http, whoever
    sits on the way could change a file and its checksum alike.
    """
    parts = urllib.parse.urlsplit(url)
    if parts.scheme == "https":
        return
    host = parts.hostname or ""
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if parts.scheme == "http" and loopback:
        return
    raise InputError(
        f"{what}: {url} is not https://: refused, because the md5 that checks each download comes "
        "from the same server, and over plain http anyone on the way could change a file and its "
        "checksum alike; use https:// (plain http:// only to a loopback address such as 127.0.0.1)"
    )
