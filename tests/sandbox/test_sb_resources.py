"""Endpoint coverage and GET shapes: domains, admins, users, aliases, mlmmj lists, policies (§5-§7)."""

from __future__ import annotations

import pytest
from sbhelpers import PASSWORD, USER_PASSWORD, Api, new_user, unique_domain

from migrate.sandbox import Sandbox


def test_domain_get_shape(admin: Api) -> None:
    name = unique_domain()
    admin.ok(
        "POST",
        f"/domain/{name}",
        data={"name": "Example Inc.", "quota": "4096", "language": "de_DE", "defaultQuota": "256",
              "maxUserQuota": "1024", "numberOfUsers": "10", "numberOfAliases": "-1", "senderBcc": f"arch@{name}",
              "transport": "lmtp:unix:private/dovecot-lmtp"},
    )  # fmt: skip
    new_user(admin, f"a@{name}", quota="100")
    data = admin.ok("GET", f"/domain/{name}")
    assert data["domain"] == name and data["description"] == "Example Inc."
    assert (data["maxquota"], data["mailboxes"], data["aliases"], data["maillists"]) == (4096, 10, -1, 0)
    assert data["settings"] == {"default_language": "de_DE", "default_user_quota": 256, "max_user_quota": 1024}
    assert data["transport"] == "lmtp:unix:private/dovecot-lmtp"
    assert data["catchall"] == [] and data["alias_domains"] == []
    assert (data["sbcc_addr"], data["rbcc_addr"], data["relayhost"]) == (f"arch@{name}", "", "")
    assert (data["num_existing_users"], data["allocated_quota"]) == (1, 100)
    assert data["active"] == 1 and data["backupmx"] == 0


def test_domain_put_everything(admin: Api) -> None:
    name = unique_domain()
    admin.ok("POST", f"/domain/{name}")
    new_user(admin, f"catch@{name}")
    alias1, alias2 = unique_domain("al"), unique_domain("al")
    admin.ok(
        "PUT",
        f"/domain/{name}",
        data={"accountStatus": "disabled", "catchall": f"catch@{name},ghost@{name},ext@elsewhere.org",
              "outboundRelay": "smtp:[192.168.1.2]:25", "addAliasDomain": f"{alias1},{alias2}",
              "addService": "self-service", "disableDomainProfile": "bcc,relay,nonsense",
              "disableUserProfile": "forwarding", "disableUserPreference": "wblist", "recipientBcc": f"catch@{name}"},
    )  # fmt: skip
    data = admin.ok("GET", f"/domain/{name}")
    assert data["active"] == 0
    assert data["catchall"] == [f"catch@{name}", "ext@elsewhere.org"]
    assert data["relayhost"] == "smtp:[192.168.1.2]:25"
    assert data["alias_domains"] == sorted([alias1, alias2])
    assert data["rbcc_addr"] == f"catch@{name}"
    assert data["settings"]["enabled_services"] == ["self-service"]
    assert data["settings"]["disabled_domain_profiles"] == ["bcc", "relay"]
    assert data["settings"]["disabled_user_profiles"] == ["forwarding"]
    assert data["settings"]["disabled_user_preferences"] == ["wblist"]
    admin.ok(
        "PUT",
        f"/domain/{name}",
        data={"catchall": "", "outboundRelay": "", "removeAliasDomain": alias1, "enableDomainProfile": "bcc",
              "removeService": "self-service", "recipientBcc": ""},
    )  # fmt: skip
    data = admin.ok("GET", f"/domain/{name}")
    assert (data["catchall"], data["relayhost"], data["alias_domains"]) == ([], "", [alias2])
    assert data["settings"]["disabled_domain_profiles"] == ["relay"]
    assert "enabled_services" not in data["settings"] and data["rbcc_addr"] == ""
    admin.ok("PUT", f"/domain/{name}", data={"aliasDomains": ""})
    assert admin.ok("GET", f"/domain/{name}")["alias_domains"] == []


def test_domain_backup_mx(admin: Api, domain: str) -> None:
    admin.ok("PUT", f"/domain/{domain}", data={"is_backupmx": "yes", "primarymx": "[mail.example.org]:25"})
    data = admin.ok("GET", f"/domain/{domain}")
    assert (data["backupmx"], data["transport"]) == (1, "relay:[mail.example.org]:25")
    admin.ok("PUT", f"/domain/{domain}", data={"is_backupmx": "no"})
    data = admin.ok("GET", f"/domain/{domain}")
    assert (data["backupmx"], data["transport"]) == (0, "dovecot")


def test_list_domains(admin: Api, domain: str) -> None:
    listing = admin.ok("GET", "/domains")
    assert isinstance(listing, dict) and listing[domain]["domain"] == domain
    assert isinstance(listing[domain]["settings"], dict)
    names = admin.ok("GET", "/domains", params={"name_only": ""})
    assert names == sorted(names) and domain in names
    admin.ok("PUT", f"/domain/{domain}", data={"accountStatus": "disabled"})
    assert domain in admin.ok("GET", "/domains", params={"disabled_only": "", "name_only": ""})


def test_delete_domain_removes_everything(admin: Api) -> None:
    name = unique_domain()
    admin.ok("POST", f"/domain/{name}")
    new_user(admin, f"u@{name}")
    admin.ok("POST", f"/alias/a@{name}", data={"members": f"u@{name}"})
    admin.ok("POST", f"/ml/l@{name}")
    admin.ok("DELETE", f"/domain/{name}/keep_mailbox_days/7")
    assert admin.get(f"/domain/{name}") == {"_success": False, "_msg": "INVALID_DOMAIN_NAME"}
    admin.ok("POST", f"/domain/{name}")
    assert admin.ok("GET", f"/users/{name}") == [] and admin.ok("GET", f"/aliases/{name}") == []
    assert admin.ok("GET", f"/mls/{name}") == []


def test_domain_admins(admin: Api, domain: str) -> None:
    new_user(admin, f"boss@{domain}")
    standalone = "ops@admins.example.org"
    admin.ok("POST", f"/admin/{standalone}", data={"password": PASSWORD})
    admin.ok("PUT", f"/domain/admins/{domain}", data={"addAdmin": f"boss@{domain},{standalone}"})
    assert admin.ok("GET", f"/domain/admins/{domain}") == [f"boss@{domain}", standalone]
    user = admin.ok("GET", f"/user/boss@{domain}")
    assert user["isadmin"] == 1 and user["managed_domains"] == [domain]
    assert admin.ok("GET", f"/admin/{standalone}")["managed_domains"] == [domain]
    admin.ok("PUT", f"/domain/admins/{domain}", data={"removeAdmin": f"boss@{domain}"})
    assert admin.ok("GET", f"/domain/admins/{domain}") == [standalone]
    assert admin.ok("GET", f"/user/boss@{domain}")["isadmin"] == 0
    # Only this exact spelling removes them all.
    admin.ok("PUT", f"/domain/admins/{domain}", data={"removeAllAdmins": ""})
    assert admin.ok("GET", f"/domain/admins/{domain}") == []


def test_admin_crud(admin: Api) -> None:
    mail = "crud@admins.example.org"
    admin.ok(
        "POST",
        f"/admin/{mail}",
        data={"name": "Crud", "password": PASSWORD, "language": "fr_FR", "isGlobalAdmin": "no", "maxDomains": "5",
              "maxQuota": "2", "quotaUnit": "GB", "maxUsers": "100", "maxAliases": "200", "maxLists": "3"},
    )  # fmt: skip
    data = admin.ok("GET", f"/admin/{mail}")
    assert "password" not in data
    assert (data["name"], data["language"], data["isglobaladmin"], data["active"]) == ("Crud", "fr_FR", 0, 1)
    assert data["settings"] == {
        "create_max_domains": 5, "create_max_quota": 2048, "create_max_users": 100, "create_max_aliases": 200,
        "create_max_lists": 3,
    }  # fmt: skip
    admin.ok("PUT", f"/admin/{mail}", data={"isGlobalAdmin": "yes", "accountStatus": "disabled"})
    data = admin.ok("GET", f"/admin/{mail}")
    assert (data["isglobaladmin"], data["active"], data["settings"]) == (1, 0, {})
    admin.ok("PUT", f"/admin/{mail}", data={"isGlobalAdmin": "maybe"})
    assert admin.ok("GET", f"/admin/{mail}")["isglobaladmin"] == 0
    admin.ok("DELETE", f"/admin/{mail}")
    assert admin.get(f"/admin/{mail}") == {"_success": False, "_msg": "NO_SUCH_ACCOUNT"}


def test_verify_password_failure_has_no_msg(admin: Api, domain: str) -> None:
    new_user(admin, f"v@{domain}")
    assert admin.post(f"/verify_password/user/v@{domain}", data={"password": USER_PASSWORD}) == {"_success": True}
    # A mismatch is a bare {"_success": false}: no _msg at all.
    assert admin.post(f"/verify_password/user/v@{domain}", data={"password": "Wrong#123"}) == {"_success": False}
    mail = "verify@admins.example.org"
    admin.ok("POST", f"/admin/{mail}", data={"password": PASSWORD})
    assert admin.post(f"/verify_password/admin/{mail}", data={"password": PASSWORD}) == {"_success": True}
    assert admin.post(f"/verify_password/admin/{mail}", data={"password": "nope"}) == {"_success": False}


def test_user_get_shape(admin: Api, domain: str) -> None:
    new_user(admin, f"full@{domain}", name="Full User", quota="100", language="en_US", mailboxFolder="Mail2")
    new_user(admin, f"fan@{domain}")
    admin.ok("PUT", f"/user/full@{domain}",
             data={"gn": "Full", "sn": "User", "employeeid": "E-1", "senderBcc": "s@elsewhere.org",
                   "recipientBcc": "r@elsewhere.org", "addAlias": f"nick@{domain}"})  # fmt: skip
    admin.ok("POST", f"/alias/team@{domain}", data={"members": f"full@{domain}"})
    admin.ok("POST", f"/ml/news@{domain}")
    admin.ok("PUT", f"/ml/news@{domain}", data={"add_subscribers": f"full@{domain}", "require_confirm": "no"})
    data = admin.ok("GET", f"/user/full@{domain}")
    assert "password" not in data
    assert (data["name"], data["first_name"], data["last_name"], data["employeeid"]) == ("Full User", "Full", "User",
                                                                                         "E-1")  # fmt: skip
    assert (data["quota"], data["mailboxfolder"], data["mailboxformat"]) == (100, "Mail2", "maildir")
    assert data["forwardings"] == [] and data["aliases"] == [f"nick@{domain}"]
    assert (data["sender_bcc_address"], data["recipient_bcc_address"]) == ("s@elsewhere.org", "r@elsewhere.org")
    assert (data["sbcc_active"], data["rbcc_active"]) == (1, 1)
    assert data["mailing_aliases"] == [f"team@{domain}"] and data["mailing_lists"] == [f"news@{domain}"]
    assert data["last_login"] == {"imap": 0, "pop3": 0, "lda": 0}
    assert (data["stored_bytes"], data["stored_messages"]) == (0, 0)
    assert data["maildir"].startswith(f"{domain}/f/u/l/full-")
    assert "managed_domains" not in data
    rows = admin.ok("GET", f"/users/{domain}")
    assert [r["username"] for r in rows] == [f"fan@{domain}", f"full@{domain}"]
    assert rows[1]["used_quota"] == {"bytes": 0, "messages": 0} and "password" not in rows[1]
    assert rows[1]["last_login"] == {"imap": 0, "pop3": 0, "lda": 0}


def test_user_global_admin_flag(admin: Api, domain: str, sandbox: Sandbox) -> None:
    new_user(admin, f"g@{domain}")
    admin.ok("PUT", f"/user/g@{domain}", data={"isGlobalAdmin": "yes"})
    assert admin.ok("GET", f"/user/g@{domain}")["isglobaladmin"] == 1
    api = Api(sandbox.base_url)
    assert api.login(f"g@{domain}", USER_PASSWORD) == {"_success": True}
    assert api.get("/admin/nobody@admins.example.org") == {"_success": False, "_msg": "NO_SUCH_ACCOUNT"}
    # Any value other than yes demotes.
    admin.ok("PUT", f"/user/g@{domain}", data={"isGlobalAdmin": "YES!"})
    assert api.get("/admin/nobody@admins.example.org") == {"_success": False, "_msg": "PERMISSION_DENIED"}
    api.close()


def test_user_password_and_hash_updates(admin: Api, domain: str) -> None:
    new_user(admin, f"pw@{domain}")
    admin.ok("PUT", f"/user/pw@{domain}", data={"password": "N3w#Password"})
    assert admin.post(f"/verify_password/user/pw@{domain}", data={"password": "N3w#Password"}) == {"_success": True}
    # password_hash on PUT is stored verbatim after trimming, without a scheme check.
    admin.ok("PUT", f"/user/pw@{domain}", data={"password_hash": "  {PLAIN}Plain#Text1  "})
    assert admin.post(f"/verify_password/user/pw@{domain}", data={"password": "Plain#Text1"}) == {"_success": True}
    admin.ok("PUT", f"/user/pw@{domain}", data={"password_hash": "no-scheme-at-all"})
    assert admin.post(f"/verify_password/user/pw@{domain}", data={"password": "no-scheme-at-all"}) == {
        "_success": False
    }


def test_keep_mailbox_days_delete_and_change_email(admin: Api, domain: str) -> None:
    new_user(admin, f"old@{domain}")
    admin.ok("PUT", f"/user/old@{domain}", data={"addAlias": f"nick@{domain}", "forwarding": "x@elsewhere.org"})
    admin.ok("POST", f"/alias/team@{domain}", data={"members": f"old@{domain}"})
    admin.ok("POST", f"/user/old@{domain}/change_email/new@{domain}")
    assert admin.get(f"/user/old@{domain}")["_msg"] == "NO_SUCH_ACCOUNT"
    data = admin.ok("GET", f"/user/new@{domain}")
    assert (data["aliases"], data["forwardings"]) == ([f"nick@{domain}"], ["x@elsewhere.org"])
    assert admin.ok("GET", f"/alias/team@{domain}")["members"] == [f"new@{domain}"]
    admin.ok("DELETE", f"/user/new@{domain}/keep_mailbox_days/30")
    assert admin.get(f"/user/new@{domain}")["_msg"] == "NO_SUCH_ACCOUNT"
    assert admin.ok("GET", f"/alias/team@{domain}")["members"] == []


def test_bulk_update_users(admin: Api, domain: str) -> None:
    new_user(admin, f"a@{domain}")
    new_user(admin, f"b@{domain}")
    admin.ok(
        "PUT", f"/users/{domain}", data={"accountStatus": "disabled", "language": "it_IT", "password": "Bulk#Pass1"}
    )
    rows = admin.ok("GET", f"/users/{domain}")
    assert {(r["active"], r["language"]) for r in rows} == {(0, "it_IT")}
    assert admin.post(f"/verify_password/user/b@{domain}", data={"password": "Bulk#Pass1"}) == {"_success": True}
    assert admin.ok("GET", f"/users/{domain}", params={"disabled_only": ""})[0]["username"] == f"a@{domain}"


def test_alias_crud_and_listing(admin: Api, domain: str) -> None:
    admin.ok("POST", f"/alias/all@{domain}",
             data={"name": "All", "accessPolicy": "membersonly", "members": "x@elsewhere.org"})  # fmt: skip
    data = admin.ok("GET", f"/alias/all@{domain}")
    assert (data["name"], data["accesspolicy"], data["members"], data["moderators"]) == (
        "All", "membersonly", ["x@elsewhere.org"], [])  # fmt: skip
    admin.ok("PUT", f"/alias/all@{domain}",
             data={"accountStatus": "disabled", "moderators": "m@elsewhere.org", "accessPolicy": "bogus"})  # fmt: skip
    data = admin.ok("GET", f"/alias/all@{domain}")
    assert (data["active"], data["moderators"], data["accesspolicy"]) == (0, ["m@elsewhere.org"], "membersonly")
    rows = admin.ok("GET", f"/aliases/{domain}")
    assert [r["address"] for r in rows] == [f"all@{domain}"] and "members" not in rows[0]
    assert admin.ok("GET", f"/aliases/{domain}", params={"email_only": ""}) == [f"all@{domain}"]
    assert admin.ok("GET", f"/aliases/{domain}", params={"disabled_only": ""})[0]["active"] == 0
    admin.ok("POST", f"/alias/all@{domain}/change_email/everyone@{domain}")
    assert admin.ok("GET", f"/alias/everyone@{domain}")["members"] == ["x@elsewhere.org"]
    admin.ok("DELETE", f"/alias/everyone@{domain}")
    assert admin.ok("GET", f"/aliases/{domain}") == []


def test_ml_crud_with_subscribers(admin: Api, domain: str) -> None:
    admin.ok("POST", f"/ml/news@{domain}",
             data={"name": "News", "accessPolicy": "membersonly", "max_message_size": "1048576",
                   "owner": f"own@{domain}", "subscribers": "pending@elsewhere.org", "close_list": "yes",
                   "subject_prefix": "[news]"})  # fmt: skip
    data = admin.ok("GET", f"/ml/news@{domain}")
    assert (data["name"], data["accessPolicy"], data["max_message_size"]) == ("News", "membersonly", 1048576)
    assert data["owner"] == [f"own@{domain}"] and data["moderators"] == [f"postmaster@{domain}"]
    assert (data["close_list"], data["only_subscriber_can_post"], data["subject_prefix"]) == ("yes", "yes", "[news]")
    assert len(data["mlid"]) == 36 and data["transport"] == f"mlmmj:{domain}/news"
    assert "subscribers" not in data
    # require_confirm defaults to yes: the subscriber waits for a confirmation and is not listed.
    assert admin.ok("GET", f"/ml/news@{domain}", params={"with_subscribers": "no"})["subscribers"] == []
    admin.ok("PUT", f"/ml/news@{domain}",
             data={"add_subscribers": "a@elsewhere.org,b@elsewhere.org", "require_confirm": "no",
                   "subscription": "digest", "moderators": "", "accountStatus": "disabled"})  # fmt: skip
    data = admin.ok("GET", f"/ml/news@{domain}", params={"with_subscribers": ""})
    assert data["subscribers"] == ["a@elsewhere.org", "b@elsewhere.org"]
    assert (data["moderators"], data["accountStatus"]) == ([], "disabled")
    admin.ok("PUT", f"/ml/news@{domain}", data={"remove_subscribers": "a@elsewhere.org"})
    assert admin.ok("GET", f"/ml/news@{domain}", params={"with_subscribers": ""})["subscribers"] == ["b@elsewhere.org"]
    rows = admin.ok("GET", f"/mls/{domain}")
    assert [r["address"] for r in rows] == [f"news@{domain}"]
    assert admin.ok("GET", f"/mls/{domain}", params={"email_only": ""}) == [f"news@{domain}"]


@pytest.mark.parametrize(
    "scope",
    ["global", "domain", "user"],
    ids=["global", "domain", "user"],
)
def test_spam_policy_get_put_delete(admin: Api, domain: str, scope: str) -> None:
    path = {"global": "/spampolicy/global", "domain": f"/spampolicy/domain/{domain}",
            "user": f"/spampolicy/user/u@{domain}"}[scope]  # fmt: skip
    if scope == "global":
        admin.ok("DELETE", path)
    assert admin.ok("GET", path) == {}
    admin.ok("PUT", path, data={"bypass_spam_checks": "yes", "spam_score": "6.5", "banned_rulenames": "allow_ms_word"})
    data = admin.ok("GET", path)
    assert (data["bypass_spam_checks"], data["quarantine_virus"], data["quarantine_spam"]) == ("yes", "yes", "no")
    assert (data["spam_score"], data["banned_rulenames"]) == (6.5, "ALLOW_MS_WORD")
    admin.ok("PUT", path, data={"quarantine_virus": "no", "prefix_spam_in_subject": "yes"})
    data = admin.ok("GET", path)
    assert (data["quarantine_virus"], data["prefix_spam_in_subject"], data["bypass_spam_checks"]) == (
        "no",
        "yes",
        "yes",
    )
    admin.ok("DELETE", path)
    assert admin.ok("GET", path) == {}


@pytest.mark.parametrize("target", ["global", "domain", "user"], ids=["global", "domain", "user"])
def test_throttle_get_set(admin: Api, domain: str, target: str) -> None:
    account = {"global": "global", "domain": domain, "user": f"u@{domain}"}[target]
    for direction in ("inbound", "outbound"):
        body = admin.post(f"/throttle/{account}/{direction}", data={"period": "3600", "max_msgs": "20"})
        assert body == {"_success": True}
    body = admin.get(f"/throttle/{account}/inbound")
    assert set(body) == {"_success", "setting"}
    setting = body["setting"]
    assert (setting["period"], setting["max_msgs"], setting["msg_size"], setting["max_quota"]) == (3600, 20, -1, -1)
    # A POST replaces the whole setting.
    admin.ok("POST", f"/throttle/{account}/inbound", data={"period": "60", "msg_size": "10485760"})
    setting = admin.get(f"/throttle/{account}/inbound")["setting"]
    assert (setting["period"], setting["max_msgs"], setting["msg_size"]) == (60, -1, 10485760)
    assert admin.get(f"/throttle/{account}/outbound")["setting"]["max_msgs"] == 20


def test_throttle_get_uses_setting_key(admin: Api, domain: str) -> None:
    assert admin.get(f"/throttle/{domain}/outbound") == {"_success": True, "setting": {}}


def test_domain_services_old_parameter_names(admin: Api, domain: str) -> None:
    admin.ok("PUT", f"/domain/{domain}", data={"enableService": "self-service,mail"})
    assert admin.ok("GET", f"/domain/{domain}")["settings"]["enabled_services"] == ["self-service"]
    admin.ok("PUT", f"/domain/{domain}", data={"disableService": "self-service"})
    assert "enabled_services" not in admin.ok("GET", f"/domain/{domain}")["settings"]
    admin.ok("PUT", f"/domain/{domain}", data={"services": "self-service"})
    admin.ok("PUT", f"/domain/{domain}", data={"removeAllServices": ""})
    assert "enabled_services" not in admin.ok("GET", f"/domain/{domain}")["settings"]
