"""MILES_TRUSTED_PROXIES: IPs and networks only, empty (trust no proxy) by default."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from miles.config import Settings


def test_no_proxy_is_trusted_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MILES_TRUSTED_PROXIES", raising=False)
    assert Settings().trusted_proxies == ""


def test_addresses_and_networks_are_kept_comma_separated(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MILES_TRUSTED_PROXIES", " 10.0.0.5, 10.1.0.0/16 ,,fd00::/8")
    assert Settings().trusted_proxies == "10.0.0.5,10.1.0.0/16,fd00::/8"


@pytest.mark.parametrize("value", ["*", "proxy.example", "10.0.0.0/33", "127.0.0.1;rm"])
def test_anything_but_an_address_or_network_is_refused(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("MILES_TRUSTED_PROXIES", value)
    with pytest.raises(ValidationError, match="not an IP address or network"):
        Settings()
