import base64
import hashlib

import pytest

from migrate.model import Admin, Alias, Domain, MailingList, SpamPolicy, Throttle, User
from migrate.snapshot import Snapshot


def ssha512(password: str, salt: bytes = b"12345678") -> str:
    return "{SSHA512}" + base64.b64encode(hashlib.sha512(password.encode() + salt).digest() + salt).decode()


ALL_USER = (
    "deliver", "displayedinglobaladdressbook", "doveadm", "dsync", "forward", "imap", "imapsecured", "imaptls",
    "indexer-worker", "internal", "lda", "lib-storage", "lmtp", "mail", "managesieve", "managesievesecured",
    "managesievetls", "pop3", "pop3secured", "pop3tls", "quota-status", "recipientbcc", "senderbcc",
    "shadowaddress", "sieve", "sievesecured", "sievetls", "smtp", "smtpsecured", "smtptls", "sogo",
    "sogoactivesync", "sogocalendar", "sogowebmail",
)  # fmt: skip


def ldap_objects():
    """Objects written the way LDAP can hold them (every field the DIT has a place for)."""
    return [
        Domain(
            domain="example.com",
            name="Example Inc.",
            accountStatus="active",
            transport="dovecot",
            defaultQuota=1024,
            maxUserQuota=4096,
            numberOfUsers=100,
            numberOfAliases=-1,
            numberOfLists=0,
            minPasswordLength=8,
            maxPasswordLength=64,
            senderBcc="archive@example.com",
            catchall=("john@example.com",),
            aliasDomains=("example.net",),
            admins=("helpdesk@admins.example.org",),
            services=("domainalias", "mail", "senderbcc"),
            disabledDomainProfiles=("backupmx", "relay"),
            disabledUserProfiles=("forwarding",),
            disabledUserPreferences=("wblist",),
        ),
        Domain(domain="other.org", name="Other Org", accountStatus="disabled", services=("mail",)),
        Domain(
            domain="mx2.example",
            accountStatus="active",
            language="fr_FR",
            is_backupmx=True,
            primarymx="[mx.primary.example]:25",
            outboundRelay="[relay.example]:587",
            recipientBcc="copy@mx2.example",
            services=("mail", "recipientbcc"),
        ),
        Admin(
            email="helpdesk@admins.example.org",
            name="Helpdesk",
            accountStatus="active",
            language="en_US",
            isGlobalAdmin=False,
            maxUsers=50,
            maxDomains=3,
            domains=("example.com",),
        ),
        Admin(email="root@admins.example.org", name="Root", accountStatus="active", isGlobalAdmin=True, domains=()),
        User(
            email="john@example.com",
            name="John Smith",
            gn="John",
            sn="Smith",
            password_hash=ssha512("Secret#2024x"),
            quota=1024,
            accountStatus="active",
            language="en_US",
            employeeid="E-1001",
            forwarding=("john.smith@gmail.com", "john@example.com"),
            aliases=("j.smith@example.com",),
            services=ALL_USER,
            lists=("staff@example.com",),
        ),
        User(
            email="jorg@example.com",
            name="Jörg Ünal-Çelik with a name long enough to need folding in LDIF",
            sn="Ünal",
            password_hash="{CRYPT}$6$saltsalt$" + "x" * 86,
            quota=500,
            accountStatus="disabled",
            forwarding=("partner@external.com",),
            aliases=(),
            services=("deliver", "forward", "imap", "mail", "recipientbcc", "senderbcc", "shadowaddress", "smtp"),
            senderBcc="boss@example.com",
            recipientBcc="audit@example.com",
            lists=("staff@example.com",),
        ),
        User(
            email="admin@example.com",
            name="Admin",
            sn="admin",
            password_hash="{PLAIN}Secret#2024x",
            quota=2048,
            accountStatus="active",
            aliases=(),
            services=tuple(sorted((*ALL_USER, "domainadmin"))),
            isAdmin=True,
            isGlobalAdmin=True,
            mailboxFormat="mdbox",
            mailboxFolder="Mail",
        ),
        User(email="amy@other.org", name="Amy", sn="amy", quota=100, accountStatus="active", services=("mail", "smtp")),
        Alias(
            email="sales@example.com",
            name="Sales",
            accountStatus="active",
            accessPolicy="domain",
            members=("john@example.com", "someone@gmail.com"),
            moderators=("boss@example.com",),
        ),
        MailingList(
            email="staff@example.com",
            kind="maillist",
            name="Staff",
            accountStatus="active",
            accessPolicy="domain",
            members=("john@example.com", "jorg@example.com", "partner@external.com"),
            owners=("john@example.com",),
            moderators=("boss@example.com",),
        ),
        MailingList(
            email="news@example.com",
            kind="mlmmj",
            name="Newsletter",
            accountStatus="active",
            accessPolicy="membersonly",
            owners=("john@example.com",),
            max_message_size=10485760,
            mailingListID="3f1c2a9e-7b5d-4e8a-9c1f-0a2b3c4d5e6f",
        ),
    ]


def non_ldap_objects():
    """Objects LDAP has no place for (they appear in JSON, CSV and XLSX only)."""
    return [
        SpamPolicy(scope="global", spam_score=6.5, bypass_virus_checks=False, banned_rulenames=("exe", "zip")),
        Throttle(scope="domain", target="example.com", direction="inbound", period=3600, max_msgs=100),
    ]


@pytest.fixture
def ldap_objs():
    return ldap_objects()


@pytest.fixture
def ldap_snapshot():
    return Snapshot.from_objects(ldap_objects(), source="test", exported_at="2026-11-24T07:45:00Z")


@pytest.fixture
def full_snapshot():
    return Snapshot.from_objects(
        [*ldap_objects(), *non_ldap_objects()], source="test", exported_at="2026-11-24T07:45:00Z"
    )
