"""Every validation code the reference lists for these endpoints (§6, §9, §11)."""

from __future__ import annotations

from urllib.parse import quote

import pytest
from sbhelpers import PASSWORD, USER_PASSWORD, Api, new_user, unique_domain


def _fails(reply: dict[str, object], code: str) -> None:
    assert reply == {"_success": False, "_msg": code}


@pytest.mark.parametrize(
    "local",
    ["a+b", "-x#&=.ok", ".dot", "ü"],
    ids=["plus-not-allowed-on-create", "allowed-specials", "leading-dot", "non-ascii"],
)
def test_invalid_mail_on_create(admin: Api, domain: str, local: str) -> None:
    reply = admin.post(f"/user/{quote(local)}@{domain}", data={"password": USER_PASSWORD})
    if local == "-x#&=.ok":
        assert reply == {"_success": True}
        assert admin.ok("GET", f"/user/{quote(local)}@{domain}")["username"] == f"{local}@{domain}"
    else:
        _fails(reply, "INVALID_MAIL")


def test_invalid_mail_for_alias_and_ml(admin: Api, domain: str) -> None:
    _fails(admin.post(f"/alias/a+b@{domain}"), "INVALID_MAIL")
    _fails(admin.post(f"/ml/a+b@{domain}"), "INVALID_MAIL")


def test_empty_local_part_is_invalid_account(admin: Api, domain: str) -> None:
    _fails(admin.post(f"/user/@{domain}", data={"password": USER_PASSWORD}), "INVALID_ACCOUNT")


def test_invalid_domain_name_bad_syntax_and_missing(admin: Api) -> None:
    _fails(admin.post("/domain/bad_tld.x"), "INVALID_DOMAIN_NAME")
    missing = unique_domain("missing")
    _fails(admin.get(f"/domain/{missing}"), "INVALID_DOMAIN_NAME")
    _fails(admin.post(f"/user/u@{missing}", data={"password": USER_PASSWORD}), "INVALID_DOMAIN_NAME")
    _fails(admin.post(f"/alias/a@{missing}"), "INVALID_DOMAIN_NAME")
    _fails(admin.post(f"/ml/l@{missing}"), "INVALID_DOMAIN_NAME")
    _fails(admin.put(f"/domain/{missing}", data={"name": "x"}), "INVALID_DOMAIN_NAME")


def test_already_exists(admin: Api, domain: str) -> None:
    new_user(admin, f"taken@{domain}")
    _fails(admin.post(f"/user/taken@{domain}", data={"password": USER_PASSWORD}), "ALREADY_EXISTS")
    _fails(admin.post(f"/alias/taken@{domain}"), "ALREADY_EXISTS")
    _fails(admin.post(f"/ml/taken@{domain}"), "ALREADY_EXISTS")
    admin.ok("POST", f"/alias/team@{domain}")
    _fails(admin.post(f"/user/team@{domain}", data={"password": USER_PASSWORD}), "ALREADY_EXISTS")
    # A per-user alias address is taken too.
    admin.ok("PUT", f"/user/taken@{domain}", data={"addAlias": f"t@{domain}"})
    _fails(admin.post(f"/user/t@{domain}", data={"password": USER_PASSWORD}), "ALREADY_EXISTS")
    _fails(admin.post(f"/domain/{domain}"), "ALREADY_EXISTS")


def test_already_exists_strips_extension(admin: Api, domain: str) -> None:
    new_user(admin, f"ext@{domain}")
    # '+' is not allowed in new addresses, but the existence check strips it first: the alias
    # endpoint sees "ext@" as taken.
    _fails(admin.post(f"/alias/ext@{domain}"), "ALREADY_EXISTS")


def test_domain_already_exists_as_alias_domain(admin: Api, domain: str) -> None:
    alias_domain = unique_domain("alias")
    admin.ok("PUT", f"/domain/{domain}", data={"addAliasDomain": alias_domain})
    _fails(admin.post(f"/domain/{alias_domain}"), "ALREADY_EXISTS")


def test_no_such_account(admin: Api, domain: str) -> None:
    for path in (f"/user/x@{domain}", f"/alias/x@{domain}", f"/ml/x@{domain}", "/admin/x@admins.example.org"):
        _fails(admin.get(path), "NO_SUCH_ACCOUNT")
    _fails(admin.put(f"/alias/x@{domain}", data={"name": "n"}), "NO_SUCH_ACCOUNT")
    _fails(admin.put(f"/ml/x@{domain}", data={"name": "n"}), "NO_SUCH_ACCOUNT")


@pytest.mark.parametrize(
    ("limit_param", "kind"),
    [("numberOfUsers", "user"), ("numberOfAliases", "alias"), ("numberOfLists", "ml")],
    ids=["users", "aliases", "lists"],
)
def test_account_limits(admin: Api, limit_param: str, kind: str) -> None:
    name = unique_domain()
    admin.ok("POST", f"/domain/{name}", data={limit_param: "-1"})
    data = {"password": USER_PASSWORD} if kind == "user" else {}
    _fails(admin.post(f"/{kind}/a@{name}", data=data), "NOT_ALLOWED")
    admin.ok("PUT", f"/domain/{name}", data={limit_param: "1"})
    assert admin.post(f"/{kind}/a@{name}", data=data) == {"_success": True}
    _fails(admin.post(f"/{kind}/b@{name}", data=data), "EXCEEDED_DOMAIN_ACCOUNT_LIMIT")
    admin.ok("PUT", f"/domain/{name}", data={limit_param: "0"})
    assert admin.post(f"/{kind}/b@{name}", data=data) == {"_success": True}


def test_exceeded_domain_quota_size(admin: Api) -> None:
    name = unique_domain()
    admin.ok("POST", f"/domain/{name}", data={"quota": "100"})
    new_user(admin, f"big@{name}", quota="100")
    _fails(
        admin.post(f"/user/more@{name}", data={"password": USER_PASSWORD, "quota": "10"}), "EXCEEDED_DOMAIN_QUOTA_SIZE"
    )


def test_invalid_quota_size_on_domain(admin: Api, domain: str) -> None:
    _fails(admin.put(f"/domain/{domain}", data={"quota": "2GB"}), "INVALID_QUOTA_SIZE")


@pytest.mark.parametrize(
    "value",
    ["$6$salt$hash", "{BLF-CRYPT}$2y$05$abcdefghijklmnopqrstuu", "5f4dcc3b5aa765d61d8327deb882cf99", "$1$salt$h",
     "{SHA256-CRYPT}$5$x$y"],
    ids=["bare-sha512-crypt", "blf-crypt", "bare-hex", "bare-md5-crypt", "unlisted-scheme"],
)  # fmt: skip
def test_invalid_password_scheme(admin: Api, domain: str, value: str) -> None:
    _fails(admin.post(f"/user/h@{domain}", data={"password_hash": value}), "INVALID_PASSWORD_SCHEME")


@pytest.mark.parametrize(
    ("password", "codes"),
    [("", {"PW_EMPTY"}), ("Sh0rt#", {"PW_SHORTER_THAN_MIN_LENGTH"}), ("alllowercase1#", {"PW_NO_UPPERCASE"}),
     ("NoDigitsHere#", {"PW_NO_DIGIT_NUMBER"}), ("NoSpecial123", {"PW_NO_SPECIAL_CHAR"}),
     ("12345678#", {"PW_NO_LETTER", "PW_NO_UPPERCASE"}), ("Jørn#12345", {"PW_NON_ASCII"}),
     ("abc", {"PW_SHORTER_THAN_MIN_LENGTH", "PW_NO_UPPERCASE", "PW_NO_DIGIT_NUMBER", "PW_NO_SPECIAL_CHAR"})],
    ids=["empty", "short", "no-upper", "no-digit", "no-special", "no-letter", "non-ascii", "many"],
)  # fmt: skip
def test_password_policy_codes_comma_joined(admin: Api, domain: str, password: str, codes: set[str]) -> None:
    reply = admin.post(f"/user/pw@{domain}", data={"password": password})
    assert reply["_success"] is False
    assert set(reply["_msg"].split(",")) == codes


def test_domain_password_lengths_apply(admin: Api, domain: str) -> None:
    admin.ok("PUT", f"/domain/{domain}", data={"minPasswordLength": "12", "maxPasswordLength": "14"})
    _fails(admin.post(f"/user/a@{domain}", data={"password": "Abcdef#12"}), "PW_SHORTER_THAN_MIN_LENGTH")
    _fails(admin.post(f"/user/a@{domain}", data={"password": "Abcdef#12345678"}), "PW_GREATER_THAN_MAX_LENGTH")
    assert admin.post(f"/user/a@{domain}", data={"password": "Abcdef#12345"}) == {"_success": True}


def test_password_wins_over_password_hash(admin: Api, domain: str) -> None:
    reply = admin.post(f"/user/both@{domain}", data={"password": "weak", "password_hash": "{PLAIN}Whatever#1"})
    assert reply["_success"] is False and "PW_SHORTER_THAN_MIN_LENGTH" in reply["_msg"]


def test_change_email_codes(admin: Api, domain: str) -> None:
    new_user(admin, f"old@{domain}")
    new_user(admin, f"busy@{domain}")
    _fails(admin.post(f"/user/ghost@{domain}/change_email/new@{domain}"), "OLD_EMAIL_NOT_EXIST")
    _fails(admin.post(f"/user/old@{domain}/change_email/busy@{domain}"), "NEW_EMAIL_ALREADY_EXISTS")
    _fails(admin.post(f"/user/old@{domain}/change_email/a+b@{domain}"), "INVALID_NEW_EMAIL")
    _fails(admin.post(f"/user/old..x@{domain}/change_email/new@{domain}"), "INVALID_OLD_EMAIL")
    _fails(admin.post(f"/user/old@{domain}/change_email/new@other.example.com"), "PERMISSION_DENIED")
    _fails(admin.post(f"/alias/ghost@{domain}/change_email/new@{domain}"), "OLD_EMAIL_NOT_EXIST")


def test_throttle_codes(admin: Api, domain: str) -> None:
    _fails(admin.post(f"/throttle/{domain}/inbound", data={"max_msgs": "5"}), "MISS_PERIOD")
    _fails(admin.post(f"/throttle/{domain}/inbound", data={"period": "60"}), "MISS_THROTTLE_SETTING")
    _fails(admin.post(f"/throttle/{domain}/sideways", data={"period": "60", "max_msgs": "1"}), "INVALID_INOUT_TYPE")
    _fails(admin.get(f"/throttle/{domain}/sideways"), "INVALID_INOUT_TYPE")


def test_spam_policy_codes(admin: Api, domain: str) -> None:
    _fails(admin.put(f"/spampolicy/domain/{domain}", data={"spam_score": "high"}), "INVALID_SPAM_SCORE")
    _fails(admin.put("/spampolicy/domain/bad_tld.x", data={"spam_score": "4"}), "INVALID_ACCOUNT")
    _fails(admin.get(f"/spampolicy/user/a..b@{domain}"), "INVALID_ACCOUNT")


def test_admin_codes(admin: Api, domain: str) -> None:
    _fails(admin.post(f"/admin/someone@{domain}", data={"password": PASSWORD}), "CAN_NOT_BE_LOCAL_DOMAIN")
    _fails(admin.post("/admin/x..y@admins.example.org", data={"password": PASSWORD}), "INVALID_MAIL")
    _fails(admin.post("/admin/someone@bad_tld.x", data={"password": PASSWORD}), "INVALID_DOMAIN")
    _fails(admin.post("/admin/nopw@admins.example.org"), "PW_EMPTY")
    admin.ok("POST", "/admin/dup@admins.example.org", data={"password": PASSWORD})
    _fails(admin.post("/admin/dup@admins.example.org", data={"password": PASSWORD}), "ALREADY_EXISTS")
    _fails(admin.put("/admin/ghost@admins.example.org", data={"name": "x"}), "NO_SUCH_ACCOUNT")


def test_domain_admin_codes(admin: Api, domain: str) -> None:
    _fails(admin.put(f"/domain/admins/{domain}"), "NO_ADMINS")
    _fails(admin.put(f"/domain/admins/{domain}", data={"addAdmin": f"ghost@{domain}"}), "INVALID_ADMIN")


def test_verify_password_empty(admin: Api, domain: str) -> None:
    new_user(admin, f"v@{domain}")
    _fails(admin.post(f"/verify_password/user/v@{domain}", data={"password": ""}), "EMPTY_PASSWORD")
    _fails(admin.put(f"/users/{domain}", data={"password": ""}), "EMPTY_PASSWORD")
