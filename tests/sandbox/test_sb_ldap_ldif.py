"""LDAP edition: ``/api/ldif/*`` answers the stored entry as LDIF text in ``_data`` (RFC 2849)."""

from __future__ import annotations

import base64
import io
import sqlite3
from contextlib import closing
from pathlib import Path

import ldif
import pytest
from sbhelpers import HELPDESK, PASSWORD, USER_PASSWORD, Api, make_config, new_user, unique_domain

from migrate.sandbox import Sandbox

BASE = "dc=example,dc=com"


@pytest.fixture
def dom(api: Api) -> str:
    name = unique_domain("ldif")
    api.ok("POST", f"/domain/{name}", data={"name": "Ldif"})
    return name


def stored(ldap: Sandbox, dn: str) -> dict[str, list[str]]:
    with closing(sqlite3.connect(ldap.config.db_path)) as conn:
        rows = conn.execute("SELECT attr, value FROM ldap_values WHERE dn = ? ORDER BY id", (dn.lower(),)).fetchall()
    out: dict[str, list[str]] = {}
    for attr, value in rows:
        out.setdefault(attr, []).append(value)
    return out


def parse(text: str) -> tuple[str, dict[str, list[str]]]:
    """Parse with an independent LDIF parser; exactly one entry expected."""
    entries = list(ldif.LDIFParser(io.BytesIO(text.encode("ascii"))).parse())
    assert len(entries) == 1
    dn, attrs = entries[0]
    return dn, {name: [v.decode() if isinstance(v, bytes) else v for v in values] for name, values in attrs.items()}


def test_user_ldif_is_the_stored_entry_sorted_base64_and_folded(ldap: Sandbox, api: Api, dom: str) -> None:
    mail = f"zoe@{dom}"
    new_user(api, mail, name="Zoë Müller-Ångström", quota="1024")
    api.ok("PUT", f"/user/{mail}", data={"forwarding": f"{mail},far.away.forwarding.target@partner.example.org"})
    text = api.ok("GET", f"/ldif/user/{mail}")
    lines = text.split("\n")
    assert text.endswith("\n") and lines[-1] == ""
    assert all(len(line) <= 76 for line in lines)
    assert text.isascii()
    # Unfold (RFC 2849: a continuation line starts with one space) and check the logical lines.
    logical = text.replace("\n ", "").rstrip("\n").split("\n")
    dn = f"mail={mail},ou=Users,domainName={dom},o=domains,{BASE}"
    assert logical[0] == f"dn: {dn}"
    attrs = [line.split(":", 1)[0] for line in logical[1:]]
    assert attrs == sorted(attrs, key=str.lower)
    assert f"cn:: {base64.b64encode('Zoë Müller-Ångström'.encode()).decode()}" in logical
    assert "mailQuota: 1073741824" in logical
    assert "userPassword" not in attrs  # hidden, as in the profile GETs
    parsed_dn, parsed = parse(text)
    want = {k: v for k, v in stored(ldap, dn).items() if k != "userPassword"}
    assert parsed_dn == dn
    assert {k: sorted(v) for k, v in parsed.items()} == {k: sorted(v) for k, v in want.items()}


def test_domain_catchall_alias_list_and_admin_entries(ldap: Sandbox, api: Api, dom: str) -> None:
    new_user(api, f"u@{dom}")
    api.ok("PUT", f"/domain/{dom}", data={"catchall": f"u@{dom}", "disableDomainProfile": "bcc,relay"})
    api.ok("POST", f"/alias/al@{dom}", data={"members": f"u@{dom}"})
    api.ok("POST", f"/maillist/ml@{dom}", data={"members": f"u@{dom}"})
    api.ok("POST", f"/admin/{HELPDESK}", data={"password": PASSWORD})
    cases = {
        f"/ldif/domain/{dom}": f"domainName={dom},o=domains,{BASE}",
        f"/ldif/catchall/{dom}": f"mail=@{dom},ou=Users,domainName={dom},o=domains,{BASE}",
        f"/ldif/alias/al@{dom}": f"mail=al@{dom},ou=Aliases,domainName={dom},o=domains,{BASE}",
        f"/ldif/maillist/ml@{dom}": f"mail=ml@{dom},ou=Groups,domainName={dom},o=domains,{BASE}",
        f"/ldif/admin/{HELPDESK}": f"mail={HELPDESK},o=domainAdmins,{BASE}",
    }
    for path, dn in cases.items():
        parsed_dn, parsed = parse(api.ok("GET", path))
        want = {k: v for k, v in stored(ldap, dn).items() if k != "userPassword"}
        assert (parsed_dn, {k: sorted(v) for k, v in parsed.items()}) == (dn, {k: sorted(v) for k, v in want.items()})
    domain = parse(api.ok("GET", f"/ldif/domain/{dom}"))[1]
    assert sorted(domain["accountSetting"]) == ["disabledDomainProfile:bcc", "disabledDomainProfile:relay"]
    api.ok("DELETE", f"/admin/{HELPDESK}")


@pytest.mark.parametrize(
    ("path", "code"),
    [("/ldif/user/none@{d}", "NO_SUCH_ACCOUNT"), ("/ldif/catchall/{d}", "NO_SUCH_ACCOUNT"),
     ("/ldif/alias/none@{d}", "NO_SUCH_ACCOUNT"), ("/ldif/maillist/none@{d}", "NO_SUCH_ACCOUNT"),
     ("/ldif/admin/none@msp.example", "NO_SUCH_ACCOUNT"), ("/ldif/domain/missing-{d}", "INVALID_DOMAIN_NAME")],
    ids=["user", "catchall", "alias", "maillist", "admin", "domain"],
)  # fmt: skip
def test_missing_entries(api: Api, dom: str, path: str, code: str) -> None:
    assert api.call("GET", path.format(d=dom)) == {"_success": False, "_msg": code}


def test_ldif_rights_follow_the_account(ldap: Sandbox, api: Api, dom: str) -> None:
    managed = unique_domain("ldif")
    api.ok("POST", f"/domain/{managed}")
    api.ok("POST", f"/admin/{HELPDESK}", data={"password": PASSWORD})
    api.ok("PUT", f"/domain/admins/{managed}", data={"addAdmin": HELPDESK})
    new_user(api, f"u@{managed}")
    desk = Api(ldap.base_url)
    try:
        assert desk.login(HELPDESK, PASSWORD) == {"_success": True}
        assert desk.ok("GET", f"/ldif/user/u@{managed}").startswith("dn: mail=u@")
        denied = {"_success": False, "_msg": "PERMISSION_DENIED"}
        assert desk.call("GET", f"/ldif/domain/{dom}") == denied
        assert desk.call("GET", f"/ldif/admin/{HELPDESK}") == denied
    finally:
        desk.close()
        api.ok("DELETE", f"/admin/{HELPDESK}")
    anonymous = Api(ldap.base_url)
    try:
        assert anonymous.call("GET", f"/ldif/domain/{dom}") == {"_success": False, "_msg": "LOGIN_REQUIRED"}
    finally:
        anonymous.close()


def test_password_appears_only_when_hashes_are_exposed(tmp_path: Path) -> None:
    with Sandbox(make_config(tmp_path, edition="ldap", expose_password_hashes=True)) as running:
        api = Api(running.base_url)
        api.login()
        api.ok("POST", "/domain/expose.example")
        new_user(api, "u@expose.example")
        _, parsed = parse(api.ok("GET", "/ldif/user/u@expose.example"))
        assert parsed["userPassword"][0].startswith("{SSHA512}")
        assert api.call("POST", "/verify_password/user/u@expose.example", data={"password": USER_PASSWORD})["_success"]
        assert api.ok("GET", "/user/u@expose.example")["password"] == parsed["userPassword"][0]
        api.close()
