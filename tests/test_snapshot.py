import base64
import hashlib
import os
import random
import re
from pathlib import Path

import orjson
import pytest

from migrate.model import Admin, Alias, Domain, MailingList, SpamPolicy, Throttle, User, build, to_dict
from migrate.snapshot import SECTIONS, Snapshot, atomic_output, snapshot_bytes, snapshot_dict, write_snapshot

STAMP = "2026-11-24T07:45:00Z"
# A well-formed {SSHA512} hash (sha512 digest + 8-byte salt) of a test password.
HASH = "{SSHA512}" + base64.b64encode(hashlib.sha512(b"Secret#2024x" + b"saltsalt").digest() + b"saltsalt").decode()


def objects():
    return [
        Domain(
            domain="acme.example",
            name="ACME Corp",
            accountStatus="active",
            quota=10240,
            language="de_DE",
            transport="dovecot",
            defaultQuota=1024,
            maxUserQuota=4096,
            numberOfUsers=100,
            numberOfAliases=-1,
            minPasswordLength=10,
            catchall=("postmaster@acme.example",),
            aliasDomains=("acme.test",),
            admins=("boss@admins.example",),
            is_backupmx=False,
            disabledDomainProfiles=("bcc", "relay"),
        ),
        Domain(domain="beta.example", name="Beta"),
        Admin(email="boss@admins.example", name="Boss", isGlobalAdmin=False, maxUsers=50, domains=("acme.example",)),
        User(
            email="zoe@acme.example",
            name="Zoë Ärger",
            password="Secret#2024x",
            password_hash=HASH,
            quota=2048,
            accountStatus="active",
            forwarding=("zoe@acme.example", "zoe@gmail.example"),
            aliases=("z@acme.example",),
            services=("imap", "smtp"),
            isAdmin=True,
        ),
        User(email="adam@acme.example", name="Adam", quota=0, accountStatus="disabled", forwarding=()),
        Alias(email="sales@acme.example", name="Sales", members=("ext@partner.example", "zoe@acme.example")),
        MailingList(email="news@acme.example", kind="mlmmj", members=("a@x.example",), max_message_size=1048576),
        SpamPolicy(scope="global", spam_score=6.5, bypass_spam_checks=False),
        SpamPolicy(scope="domain", target="acme.example", quarantine_spam=True, banned_rulenames=("exe",)),
        Throttle(scope="user", target="zoe@acme.example", direction="outbound", period=3600, max_msgs=100),
        Throttle(scope="global", direction="inbound", period=60, msg_size=10485760),
    ]


def snap(objs=None, *, exported_at=STAMP, missing=()):
    s = Snapshot.from_objects(
        objs if objs is not None else objects(), source="sandbox:/tmp/a.db", exported_at=exported_at
    )
    s.missing_hashes = list(missing)
    return s


@pytest.mark.parametrize("seed", [1, 2, 3], ids=["shuffle1", "shuffle2", "shuffle3"])
def test_same_objects_in_any_order_give_identical_bytes(seed):
    shuffled = objects()
    random.Random(seed).shuffle(shuffled)
    assert snapshot_bytes(snap(shuffled)) == snapshot_bytes(snap())


def test_two_exports_differ_only_in_exported_at():
    a = snapshot_bytes(snap(exported_at="2026-11-24T07:45:00Z")).decode()
    b = snapshot_bytes(snap(exported_at="2026-11-25T07:45:00Z")).decode()
    diff = [(x, y) for x, y in zip(a.splitlines(), b.splitlines(), strict=True) if x != y]
    assert diff == [('  "exported_at": "2026-11-24T07:45:00Z",', '  "exported_at": "2026-11-25T07:45:00Z",')]


def test_format_header_sections_and_layout():
    data = snapshot_bytes(snap())
    assert data.endswith(b"}\n")
    assert b'\n  "format": "iredmigrate-snapshot",\n' in data  # two-space indent
    doc = orjson.loads(data)
    assert doc["format"] == "iredmigrate-snapshot"
    assert doc["version"] == 1
    assert doc["source"] == "sandbox:/tmp/a.db"
    assert list(doc) == sorted(doc)
    for name in SECTIONS:
        assert isinstance(doc[name], list)
    assert [d["domain"] for d in doc["domains"]] == ["acme.example", "beta.example"]
    assert [u["email"] for u in doc["users"]] == ["adam@acme.example", "zoe@acme.example"]
    assert [p.get("target") for p in doc["spam_policies"]] == ["acme.example", ""]  # keys domain:..., global
    assert [t["scope"] for t in doc["throttles"]] == ["global", "user"]
    assert "missing_password_hashes" not in doc


def test_objects_carry_hashes_never_plain_passwords():
    data = snapshot_bytes(snap())
    doc = orjson.loads(data)
    zoe = next(u for u in doc["users"] if u["email"] == "zoe@acme.example")
    assert zoe["password_hash"] == HASH
    assert "password" not in zoe
    assert b"Secret#2024x" not in data


def test_values_keep_types_and_empty_lists():
    doc = snapshot_dict(snap())
    adam = next(u for u in doc["users"] if u["email"] == "adam@acme.example")
    assert adam == {
        "email": "adam@acme.example",
        "name": "Adam",
        "quota": 0,
        "accountStatus": "disabled",
        "forwarding": [],
    }
    acme = doc["domains"][0]
    assert acme["is_backupmx"] is False
    assert acme["numberOfAliases"] == -1
    assert acme["disabledDomainProfiles"] == ["bcc", "relay"]
    assert doc["spam_policies"][1]["spam_score"] == 6.5


def test_objects_are_model_to_dict_without_plain_password():
    objs = [*objects(), User(email="u@acme.example", forwarding=("b@x.example", "a@x.example"), password="Pw#12345678")]
    doc = snapshot_dict(snap(objs))
    for name, cls in SECTIONS.items():
        expected = []
        for obj in sorted((o for o in objs if type(o) is cls), key=lambda o: o.key):
            data = to_dict(obj, include_secrets=True)
            data.pop("password", None)
            expected.append(data)
        assert doc[name] == expected, name
    unsorted = next(u for u in doc["users"] if u["email"] == "u@acme.example")
    assert unsorted["forwarding"] == ["a@x.example", "b@x.example"]


def test_missing_hashes_listed_sorted_when_present():
    doc = orjson.loads(snapshot_bytes(snap(missing=["zoe@acme.example", "adam@acme.example", "zoe@acme.example"])))
    assert doc["missing_password_hashes"] == ["adam@acme.example", "zoe@acme.example"]


def test_objects_iterates_in_import_order():
    kinds = [type(o).__name__ for o in snap().objects()]
    assert kinds == [
        "Domain", "Domain", "Admin", "User", "User", "Alias", "MailingList",
        "SpamPolicy", "SpamPolicy", "Throttle", "Throttle",
    ]  # fmt: skip


def test_from_objects_refuses_other_things():
    with pytest.raises(TypeError, match="not a model object"):
        Snapshot.from_objects([{"domain": "x.example"}], source="s", exported_at=STAMP)  # type: ignore[list-item]


def test_write_snapshot_writes_file_and_sha256sum_line(tmp_path):
    path = tmp_path / "backup.json"
    write_snapshot(path, snap())
    data = path.read_bytes()
    assert data == snapshot_bytes(snap())
    line = (tmp_path / "backup.json.sha256").read_text()
    assert re.fullmatch(r"[0-9a-f]{64}  backup\.json\n", line)
    assert line.split()[0] == hashlib.sha256(data).hexdigest()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["backup.json", "backup.json.sha256"]


def test_write_snapshot_replaces_an_older_file(tmp_path):
    path = tmp_path / "b.json"
    path.write_text("old")
    write_snapshot(path, snap())
    assert orjson.loads(path.read_bytes())["format"] == "iredmigrate-snapshot"


def test_atomic_output_keeps_the_old_file_when_writing_fails(tmp_path):
    path = tmp_path / "b.json"
    path.write_text("previous backup")
    with pytest.raises(RuntimeError), atomic_output(path) as fh:
        fh.write(b"half")
        raise RuntimeError("disk full")
    assert path.read_text() == "previous backup"
    assert [p.name for p in tmp_path.iterdir()] == ["b.json"]


def test_atomic_output_gives_normal_permissions(tmp_path):
    path = tmp_path / "b.json"
    with atomic_output(path) as fh:
        fh.write(b"{}")
    umask = os.umask(0)
    os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask


def _read_back(path: Path):
    from migrate.readers.snapshot_reader import read_snapshot

    objs = []
    for record in read_snapshot(path):
        obj, problems = build(record)
        assert obj is not None, [p.render() for p in problems]
        objs.append(obj)
    return objs


def test_json_round_trip_through_snapshot_reader(tmp_path):
    original = [o for o in objects()]
    path = tmp_path / "s.json"
    write_snapshot(path, snap(original))
    back = _read_back(path)
    # The snapshot leaves plain passwords out; everything else comes back as it was.
    expected = [o if not isinstance(o, User) else _without_password(o) for o in original]
    key = lambda o: (type(o).__name__, o.key)  # noqa: E731
    assert sorted(back, key=key) == sorted(expected, key=key)
    # A second write of what was read is byte-identical.
    write_snapshot(tmp_path / "t.json", snap(back))
    assert (tmp_path / "t.json").read_bytes() == path.read_bytes()


def _without_password(user: User) -> User:
    from migrate.model import replace_fields as replace

    return replace(user, password=None)


@pytest.mark.parametrize("enabled", [True, False], ids=["was-enabled", "was-disabled"])
def test_gc_paused_restores_the_collector_state(enabled):
    import gc

    from migrate.snapshot import gc_paused

    before = gc.isenabled()
    try:
        gc.enable() if enabled else gc.disable()
        with pytest.raises(RuntimeError), gc_paused():
            assert not gc.isenabled()
            raise RuntimeError
        assert gc.isenabled() is enabled
    finally:
        gc.enable() if before else gc.disable()


def test_snapshot_with_missing_hashes_reads_back_without_problems(tmp_path):
    from migrate.readers.snapshot_reader import read_snapshot

    path = tmp_path / "s.json"
    write_snapshot(path, snap(missing=["adam@acme.example"]))
    problems = []
    records = list(read_snapshot(path, report=problems.append))
    assert problems == []
    assert len(records) == len(objects())
