"""The sandbox's tables: iRedMail's ``vmail`` layout plus amavisd, iRedAPD and iredadmin tables.

The ``vmail`` tables follow iRedMail's ``iredmail.mysql``/``iredmail.pgsql`` columns (reference
§13); ``policy``/``users`` follow amavisd's spam policy tables, ``throttle`` iRedAPD's, and
``settings``/``sessions`` the ``iredadmin`` database. Types are the portable subset (SQLite
accepts them as declared); only the surrogate ``id`` columns use SQLite's rowid alias, which a
MariaDB/PostgreSQL port would spell ``AUTO_INCREMENT``/``SERIAL``.
"""

from __future__ import annotations

__all__ = ["SCHEMA", "SERVICE_COLUMNS", "SOGO_COLUMNS"]

#: ``mailbox.enable<service>`` integer columns (reference §13.2).
SERVICE_COLUMNS: tuple[str, ...] = (
    "smtp", "smtpsecured", "pop3", "pop3secured", "pop3tls", "imap", "imapsecured", "imaptls",
    "deliver", "lda", "lmtp", "managesieve", "managesievesecured", "sieve", "sievesecured",
    "sievetls", "internal", "doveadm", "dsync", "sogo", "lib-storage", "quota-status",
    "indexer-worker",
)  # fmt: skip

#: SOGo flags are CHAR 'y'/'n', not integers.
SOGO_COLUMNS: tuple[str, ...] = ("sogowebmail", "sogocalendar", "sogoactivesync")

_STAMPS = """
    created DATETIME NOT NULL DEFAULT '1970-01-01 01:01:01',
    modified DATETIME NOT NULL DEFAULT '1970-01-01 01:01:01',
    expired DATETIME NOT NULL DEFAULT '9999-12-31 00:00:00',
    active INTEGER NOT NULL DEFAULT 1"""

_SERVICES = ",\n".join(f'    "enable{name}" INTEGER NOT NULL DEFAULT 1' for name in SERVICE_COLUMNS)
_SOGO = ",\n".join(f"    enable{name} CHAR(1) NOT NULL DEFAULT 'y'" for name in SOGO_COLUMNS)

SCHEMA: tuple[str, ...] = (
    f"""CREATE TABLE IF NOT EXISTS domain (
    domain VARCHAR(255) NOT NULL PRIMARY KEY,
    description TEXT NOT NULL DEFAULT '',
    disclaimer TEXT NOT NULL DEFAULT '',
    aliases INTEGER NOT NULL DEFAULT 0,
    mailboxes INTEGER NOT NULL DEFAULT 0,
    maillists INTEGER NOT NULL DEFAULT 0,
    maxquota BIGINT NOT NULL DEFAULT 0,
    quota BIGINT NOT NULL DEFAULT 0,
    transport VARCHAR(255) NOT NULL DEFAULT 'dovecot',
    backupmx INTEGER NOT NULL DEFAULT 0,
    settings TEXT NOT NULL DEFAULT '',{_STAMPS})""",
    f"""CREATE TABLE IF NOT EXISTS alias_domain (
    alias_domain VARCHAR(255) NOT NULL PRIMARY KEY,
    target_domain VARCHAR(255) NOT NULL,{_STAMPS})""",
    "CREATE INDEX IF NOT EXISTS idx_alias_domain_target ON alias_domain (target_domain)",
    f"""CREATE TABLE IF NOT EXISTS mailbox (
    username VARCHAR(255) NOT NULL PRIMARY KEY,
    password VARCHAR(255) NOT NULL DEFAULT '',
    name VARCHAR(255) NOT NULL DEFAULT '',
    first_name VARCHAR(255) NOT NULL DEFAULT '',
    last_name VARCHAR(255) NOT NULL DEFAULT '',
    mobile VARCHAR(255) NOT NULL DEFAULT '',
    telephone VARCHAR(255) NOT NULL DEFAULT '',
    recovery_email VARCHAR(255) NOT NULL DEFAULT '',
    birthday DATE NOT NULL DEFAULT '0001-01-01',
    language VARCHAR(5) NOT NULL DEFAULT '',
    mailboxformat VARCHAR(50) NOT NULL DEFAULT 'maildir',
    mailboxfolder VARCHAR(50) NOT NULL DEFAULT 'Maildir',
    storagebasedirectory VARCHAR(255) NOT NULL DEFAULT '/var/vmail',
    storagenode VARCHAR(255) NOT NULL DEFAULT 'vmail1',
    maildir VARCHAR(255) NOT NULL DEFAULT '',
    quota BIGINT NOT NULL DEFAULT 0,
    domain VARCHAR(255) NOT NULL DEFAULT '',
    transport VARCHAR(255) NOT NULL DEFAULT '',
    department VARCHAR(255) NOT NULL DEFAULT '',
    "rank" VARCHAR(255) NOT NULL DEFAULT 'normal',
    employeeid VARCHAR(255) DEFAULT '',
    isadmin INTEGER NOT NULL DEFAULT 0,
    isglobaladmin INTEGER NOT NULL DEFAULT 0,
{_SERVICES},
{_SOGO},
    allow_nets TEXT DEFAULT NULL,
    disclaimer TEXT NOT NULL DEFAULT '',
    settings TEXT NOT NULL DEFAULT '',
    passwordlastchange DATETIME NOT NULL DEFAULT '1970-01-01 01:01:01',{_STAMPS})""",
    "CREATE INDEX IF NOT EXISTS idx_mailbox_domain ON mailbox (domain)",
    f"""CREATE TABLE IF NOT EXISTS alias (
    address VARCHAR(255) NOT NULL PRIMARY KEY,
    name VARCHAR(255) NOT NULL DEFAULT '',
    accesspolicy VARCHAR(30) NOT NULL DEFAULT '',
    domain VARCHAR(255) NOT NULL DEFAULT '',{_STAMPS})""",
    "CREATE INDEX IF NOT EXISTS idx_alias_domain ON alias (domain)",
    """CREATE TABLE IF NOT EXISTS forwardings (
    id INTEGER PRIMARY KEY,
    address VARCHAR(255) NOT NULL DEFAULT '',
    forwarding VARCHAR(255) NOT NULL DEFAULT '',
    domain VARCHAR(255) NOT NULL DEFAULT '',
    dest_domain VARCHAR(255) NOT NULL DEFAULT '',
    is_maillist INTEGER NOT NULL DEFAULT 0,
    is_list INTEGER NOT NULL DEFAULT 0,
    is_forwarding INTEGER NOT NULL DEFAULT 0,
    is_alias INTEGER NOT NULL DEFAULT 0,
    active INTEGER NOT NULL DEFAULT 1,
    UNIQUE (address, forwarding))""",
    "CREATE INDEX IF NOT EXISTS idx_forwardings_forwarding ON forwardings (forwarding)",
    "CREATE INDEX IF NOT EXISTS idx_forwardings_domain ON forwardings (domain)",
    """CREATE TABLE IF NOT EXISTS moderators (
    id INTEGER PRIMARY KEY,
    address VARCHAR(255) NOT NULL DEFAULT '',
    moderator VARCHAR(255) NOT NULL DEFAULT '',
    domain VARCHAR(255) NOT NULL DEFAULT '',
    dest_domain VARCHAR(255) NOT NULL DEFAULT '',
    UNIQUE (address, moderator))""",
    "CREATE INDEX IF NOT EXISTS idx_moderators_moderator ON moderators (moderator)",
    """CREATE TABLE IF NOT EXISTS maillist_owners (
    id INTEGER PRIMARY KEY,
    address VARCHAR(255) NOT NULL DEFAULT '',
    owner VARCHAR(255) NOT NULL DEFAULT '',
    domain VARCHAR(255) NOT NULL DEFAULT '',
    dest_domain VARCHAR(255) NOT NULL DEFAULT '',
    UNIQUE (address, owner))""",
    f"""CREATE TABLE IF NOT EXISTS maillists (
    id INTEGER PRIMARY KEY,
    address VARCHAR(255) NOT NULL UNIQUE,
    domain VARCHAR(255) NOT NULL DEFAULT '',
    transport VARCHAR(255) NOT NULL DEFAULT '',
    accesspolicy VARCHAR(30) NOT NULL DEFAULT '',
    maxmsgsize BIGINT NOT NULL DEFAULT 0,
    name VARCHAR(255) NOT NULL DEFAULT '',
    description TEXT NOT NULL DEFAULT '',
    mlid VARCHAR(36) NOT NULL UNIQUE,
    is_newsletter INTEGER NOT NULL DEFAULT 0,
    settings TEXT NOT NULL DEFAULT '',{_STAMPS})""",
    "CREATE INDEX IF NOT EXISTS idx_maillists_domain ON maillists (domain)",
    f"""CREATE TABLE IF NOT EXISTS domain_admins (
    username VARCHAR(255) NOT NULL,
    domain VARCHAR(255) NOT NULL,{_STAMPS},
    PRIMARY KEY (username, domain))""",
    "CREATE INDEX IF NOT EXISTS idx_domain_admins_domain ON domain_admins (domain)",
    f"""CREATE TABLE IF NOT EXISTS admin (
    username VARCHAR(255) NOT NULL PRIMARY KEY,
    password VARCHAR(255) NOT NULL DEFAULT '',
    name VARCHAR(255) NOT NULL DEFAULT '',
    language VARCHAR(5) NOT NULL DEFAULT '',
    passwordlastchange DATETIME NOT NULL DEFAULT '1970-01-01 01:01:01',
    settings TEXT NOT NULL DEFAULT '',{_STAMPS})""",
    *(
        f"""CREATE TABLE IF NOT EXISTS {kind}_bcc_domain (
    domain VARCHAR(255) NOT NULL PRIMARY KEY,
    bcc_address VARCHAR(255) NOT NULL DEFAULT '',{_STAMPS})"""
        for kind in ("sender", "recipient")
    ),
    *(
        f"""CREATE TABLE IF NOT EXISTS {kind}_bcc_user (
    username VARCHAR(255) NOT NULL PRIMARY KEY,
    bcc_address VARCHAR(255) NOT NULL DEFAULT '',
    domain VARCHAR(255) NOT NULL DEFAULT '',{_STAMPS})"""
        for kind in ("sender", "recipient")
    ),
    """CREATE TABLE IF NOT EXISTS sender_relayhost (
    id INTEGER PRIMARY KEY,
    account VARCHAR(255) NOT NULL UNIQUE,
    relayhost VARCHAR(255) NOT NULL DEFAULT '')""",
    """CREATE TABLE IF NOT EXISTS deleted_mailboxes (
    id INTEGER PRIMARY KEY,
    timestamp DATETIME NOT NULL DEFAULT '1970-01-01 01:01:01',
    username VARCHAR(255) NOT NULL DEFAULT '',
    domain VARCHAR(255) NOT NULL DEFAULT '',
    maildir VARCHAR(255) NOT NULL DEFAULT '',
    bytes BIGINT NOT NULL DEFAULT 0,
    messages BIGINT NOT NULL DEFAULT 0,
    admin VARCHAR(255) NOT NULL DEFAULT '',
    delete_date DATE DEFAULT NULL)""",
    """CREATE TABLE IF NOT EXISTS used_quota (
    username VARCHAR(255) NOT NULL PRIMARY KEY,
    bytes BIGINT NOT NULL DEFAULT 0,
    messages BIGINT NOT NULL DEFAULT 0,
    domain VARCHAR(255) NOT NULL DEFAULT '')""",
    """CREATE TABLE IF NOT EXISTS last_login (
    username VARCHAR(255) NOT NULL PRIMARY KEY,
    domain VARCHAR(255) NOT NULL DEFAULT '',
    imap INTEGER DEFAULT NULL,
    pop3 INTEGER DEFAULT NULL,
    lda INTEGER DEFAULT NULL)""",
    # amavisd: one policy row per account, linked from ``users`` (global is '@.').
    """CREATE TABLE IF NOT EXISTS policy (
    id INTEGER PRIMARY KEY,
    policy_name VARCHAR(255) NOT NULL UNIQUE,
    bypass_spam_checks CHAR(1) DEFAULT NULL,
    bypass_virus_checks CHAR(1) DEFAULT NULL,
    bypass_banned_checks CHAR(1) DEFAULT NULL,
    bypass_header_checks CHAR(1) DEFAULT NULL,
    spam_quarantine_to VARCHAR(64) DEFAULT NULL,
    virus_quarantine_to VARCHAR(64) DEFAULT NULL,
    banned_quarantine_to VARCHAR(64) DEFAULT NULL,
    bad_header_quarantine_to VARCHAR(64) DEFAULT NULL,
    spam_modifies_subj CHAR(1) DEFAULT NULL,
    spam_subject_tag2 VARCHAR(64) DEFAULT NULL,
    spam_tag_level FLOAT DEFAULT NULL,
    spam_tag2_level FLOAT DEFAULT NULL,
    spam_kill_level FLOAT DEFAULT NULL,
    banned_rulenames VARCHAR(64) DEFAULT NULL)""",
    """CREATE TABLE IF NOT EXISTS users (
    id INTEGER PRIMARY KEY,
    priority INTEGER NOT NULL DEFAULT 7,
    policy_id INTEGER NOT NULL DEFAULT 1,
    email VARCHAR(255) NOT NULL UNIQUE,
    fullname VARCHAR(255) DEFAULT NULL)""",
    # iRedAPD throttling; -1 means "no limit".
    """CREATE TABLE IF NOT EXISTS throttle (
    id INTEGER PRIMARY KEY,
    account VARCHAR(255) NOT NULL,
    kind VARCHAR(10) NOT NULL DEFAULT 'outbound',
    priority INTEGER NOT NULL DEFAULT 0,
    period INTEGER NOT NULL DEFAULT 0,
    msg_size BIGINT NOT NULL DEFAULT -1,
    max_msgs BIGINT NOT NULL DEFAULT -1,
    max_quota BIGINT NOT NULL DEFAULT -1,
    max_rcpts BIGINT NOT NULL DEFAULT -1,
    UNIQUE (account, kind))""",
    # iredadmin: settings overrides (e.g. restful_api_clients) and web sessions.
    """CREATE TABLE IF NOT EXISTS settings (
    id INTEGER PRIMARY KEY,
    account VARCHAR(255) NOT NULL DEFAULT 'global',
    k VARCHAR(255) NOT NULL,
    v TEXT NOT NULL DEFAULT '',
    UNIQUE (account, k))""",
    """CREATE TABLE IF NOT EXISTS sessions (
    session_id CHAR(128) NOT NULL PRIMARY KEY,
    atime DOUBLE PRECISION NOT NULL DEFAULT 0,
    data TEXT NOT NULL DEFAULT '')""",
)
