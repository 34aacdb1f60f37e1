"""The silent behaviours: accepted with success, then changed or dropped (reference §8)."""

from __future__ import annotations

import pytest
from sbhelpers import USER_PASSWORD, Api, new_user, unique_domain


def _domain(admin: Api, **params: str) -> str:
    name = unique_domain()
    admin.ok("POST", f"/domain/{name}", data=params)
    return name


def _quota(admin: Api, mail: str) -> int:
    return int(admin.ok("GET", f"/user/{mail}")["quota"])


def test_quota_clamped_to_domain_spare(admin: Api) -> None:
    name = _domain(admin, quota="1000")
    new_user(admin, f"a@{name}", quota="700")
    assert admin.post(f"/user/b@{name}", data={"password": USER_PASSWORD, "quota": "900"}) == {"_success": True}
    assert _quota(admin, f"b@{name}") == 300
    # PUT clamps too, not counting the user's own current quota.
    admin.ok("PUT", f"/user/a@{name}", data={"quota": "5000"})
    assert _quota(admin, f"a@{name}") == 700


def test_quota_clamped_to_max_user_quota(admin: Api) -> None:
    name = _domain(admin, maxUserQuota="512")
    new_user(admin, f"a@{name}", quota="2048")
    assert _quota(admin, f"a@{name}") == 512
    new_user(admin, f"zero@{name}", quota="0")
    assert _quota(admin, f"zero@{name}") == 512


@pytest.mark.parametrize(
    ("domain_params", "quota", "expected"),
    [({"quota": "1000", "defaultQuota": "100"}, "0", 100), ({"quota": "1000", "maxUserQuota": "200"}, "0", 200),
     ({"quota": "1000"}, "0", 1000), ({"defaultQuota": "250"}, "lots", 250), ({"defaultQuota": "250"}, None, 250),
     ({}, "0", 0)],
    ids=["zero-gets-default", "zero-gets-max", "zero-gets-spare", "non-integer-gets-default", "absent-gets-default",
         "zero-unlimited"],
)  # fmt: skip
def test_quota_defaults(admin: Api, domain_params: dict[str, str], quota: str | None, expected: int) -> None:
    name = _domain(admin, **domain_params)
    params = {} if quota is None else {"quota": quota}
    new_user(admin, f"u@{name}", **params)
    assert _quota(admin, f"u@{name}") == expected


def test_old_parameter_names_ignored(admin: Api) -> None:
    name = _domain(admin, defaultQuota="300")
    new_user(admin, f"u@{name}", cn="Old Name", mailQuota="999", preferredLanguage="de_DE", language="fr_FR")
    profile = admin.ok("GET", f"/user/u@{name}")
    assert (profile["name"], profile["quota"], profile["language"]) == ("", 300, "fr_FR")


def test_nonexistent_same_domain_members_dropped(admin: Api, domain: str) -> None:
    new_user(admin, f"real@{domain}")
    members = f"real@{domain},GHOST@{domain},outside@elsewhere.org,not-an-address,team@{domain}"
    assert admin.post(f"/alias/team@{domain}", data={"members": members}) == {"_success": True}
    assert admin.ok("GET", f"/alias/team@{domain}")["members"] == ["outside@elsewhere.org", f"real@{domain}"]
    admin.ok("PUT", f"/alias/team@{domain}", data={"addMember": f"ghost2@{domain},x@elsewhere.org"})
    assert admin.ok("GET", f"/alias/team@{domain}")["members"] == [
        "outside@elsewhere.org", f"real@{domain}", "x@elsewhere.org",
    ]  # fmt: skip
    admin.ok("PUT", f"/alias/team@{domain}", data={"removeMember": "outside@elsewhere.org"})
    admin.ok("PUT", f"/alias/team@{domain}", data={"members": f"real@{domain}"})
    assert admin.ok("GET", f"/alias/team@{domain}")["members"] == [f"real@{domain}"]


def test_nonexistent_same_domain_forwardings_dropped(admin: Api, domain: str) -> None:
    new_user(admin, f"fw@{domain}")
    new_user(admin, f"peer@{domain}")
    admin.ok("PUT", f"/user/fw@{domain}", data={"forwarding": f"ghost@{domain},peer@{domain},ext@elsewhere.org"})
    # Without the user's own address: no local copy.
    assert admin.ok("GET", f"/user/fw@{domain}")["forwardings"] == ["ext@elsewhere.org", f"peer@{domain}"]
    admin.ok("PUT", f"/user/fw@{domain}", data={"addForwarding": f"fw@{domain}"})
    assert f"fw@{domain}" in admin.ok("GET", f"/user/fw@{domain}")["forwardings"]
    # forwarding= restores normal delivery: only the self row, which GET shows as an empty list.
    admin.ok("PUT", f"/user/fw@{domain}", data={"forwarding": ""})
    assert admin.ok("GET", f"/user/fw@{domain}")["forwardings"] == []


def test_existing_addresses_skipped_in_aliases(admin: Api, domain: str) -> None:
    new_user(admin, f"owner@{domain}")
    new_user(admin, f"other@{domain}")
    wanted = f"other@{domain},owner@{domain},nick@{domain},nick@elsewhere.org,bad address"
    assert admin.put(f"/user/owner@{domain}", data={"aliases": wanted}) == {"_success": True}
    assert admin.ok("GET", f"/user/owner@{domain}")["aliases"] == [f"nick@{domain}"]
    # Nothing valid left is still a success.
    assert admin.put(f"/user/owner@{domain}", data={"addAlias": f"other@{domain}"}) == {"_success": True}
    admin.ok("PUT", f"/user/owner@{domain}", data={"removeAlias": f"nick@{domain}"})
    assert admin.ok("GET", f"/user/owner@{domain}")["aliases"] == []


@pytest.mark.parametrize(
    ("value", "active"),
    [("active", 1), ("enable", 1), ("yes", 1), ("Active", 0), ("disabled", 0), ("on", 0), ("", 0)],
    ids=["active", "enable", "yes", "capitalised-disables", "disabled", "on-disables", "empty"],
)
def test_account_status_spelling(admin: Api, domain: str, value: str, active: int) -> None:
    new_user(admin, f"s@{domain}")
    admin.ok("PUT", f"/user/s@{domain}", data={"accountStatus": value})
    assert admin.ok("GET", f"/user/s@{domain}")["active"] == active


def test_unknown_language_stored_empty(admin: Api, domain: str) -> None:
    new_user(admin, f"l@{domain}", language="xx_YY")
    assert admin.ok("GET", f"/user/l@{domain}")["language"] == ""
    admin.ok("PUT", f"/user/l@{domain}", data={"language": "de_DE"})
    assert admin.ok("GET", f"/user/l@{domain}")["language"] == "de_DE"


@pytest.mark.parametrize("value", ["yes", "no", ""], ids=["yes", "no", "empty"])
def test_presence_flags(admin: Api, domain: str, value: str) -> None:
    new_user(admin, f"p@{domain}")
    assert admin.ok("GET", f"/users/{domain}", params={"email_only": value}) == [f"p@{domain}"]
    assert domain in admin.ok("GET", "/domains", params={"name_only": value})
    assert admin.ok("GET", f"/users/{domain}", params={"disabled_only": value}) == []
    rows = admin.ok("GET", f"/users/{domain}")
    assert rows[0]["username"] == f"p@{domain}"


def test_deletes_of_missing_accounts_succeed(admin: Api, domain: str) -> None:
    for path in (f"/user/ghost@{domain}", f"/alias/ghost@{domain}", f"/ml/ghost@{domain}",
                 f"/domain/{unique_domain('ghost')}", "/admin/ghost@admins.example.org",
                 f"/user/ghost@{domain}/keep_mailbox_days/30", f"/spampolicy/user/ghost@{domain}"):  # fmt: skip
        assert admin.delete(path) == {"_success": True}, path


def test_put_missing_user_is_no_such_account_by_default(admin: Api, domain: str) -> None:
    assert admin.put(f"/user/ghost@{domain}", data={"name": "x"}) == {"_success": False, "_msg": "NO_SUCH_ACCOUNT"}


def test_comma_lists_lower_cased(admin: Api, domain: str) -> None:
    admin.ok("POST", f"/alias/lc@{domain}", data={"members": "Mixed.Case@Elsewhere.ORG"})
    assert admin.ok("GET", f"/alias/lc@{domain}")["members"] == ["mixed.case@elsewhere.org"]


def test_unknown_user_services_ignored(admin: Api, domain: str) -> None:
    new_user(admin, f"svc@{domain}")
    admin.ok("PUT", f"/user/svc@{domain}", data={"removeService": "imap,smtptls,nonsense"})
    profile = admin.ok("GET", f"/user/svc@{domain}")
    assert profile["enableimap"] == 0 and profile["enablepop3"] == 1
    assert "enablesmtptls" not in profile
    admin.ok("PUT", f"/user/svc@{domain}", data={"addService": "imap"})
    assert admin.ok("GET", f"/user/svc@{domain}")["enableimap"] == 1
    admin.ok("PUT", f"/user/svc@{domain}", data={"services": "smtp,imap,sogowebmail"})
    profile = admin.ok("GET", f"/user/svc@{domain}")
    assert (profile["enablesmtp"], profile["enableimap"], profile["enablepop3"]) == (1, 1, 0)
    assert (profile["enablesogowebmail"], profile["enablesogocalendar"]) == ("y", "n")


def test_maildir_lower_cased(admin: Api, domain: str) -> None:
    new_user(admin, f"md@{domain}", maildir="/Data/Mail/MD")
    profile = admin.ok("GET", f"/user/md@{domain}")
    assert (profile["storagebasedirectory"], profile["maildir"]) == ("/data/mail", "md/")
