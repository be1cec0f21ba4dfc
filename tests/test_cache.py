"""The stage cache: content keys, atomic entries, corruption detection, clean-up."""

import os

import pytest

from harness.cache import DERIVED_DIRS, KNOWN_STAGES, MANIFEST, StageCache, fingerprint_rows, stage_key
from tasks.errors import ReusebenchError


def test_key_depends_on_every_input():
    base = {"task": "sst2", "seed": 1, "config": {"epochs": 3}}
    assert stage_key("finetune", base) == stage_key("finetune", dict(base))
    assert stage_key("finetune", base) != stage_key("distill", base)
    assert stage_key("finetune", base) != stage_key("finetune", {**base, "seed": 2})
    assert stage_key("finetune", base) != stage_key("finetune", {**base, "config": {"epochs": 2}})


def test_fingerprint_is_order_and_content_sensitive():
    rows = [{"text": "a", "label": 0}, {"text": "b", "label": 1}]
    assert fingerprint_rows(rows) == fingerprint_rows([dict(r) for r in rows])
    assert fingerprint_rows(rows) != fingerprint_rows(rows[::-1])
    assert fingerprint_rows(rows) != fingerprint_rows([rows[0], {"text": "b", "label": 0}])


def test_write_then_lookup(tmp_path):
    cache = StageCache(tmp_path)
    assert cache.lookup("finetune", "k1") is None
    with cache.write("finetune", "k1") as (folder, meta):
        (folder / "model.safetensors").write_bytes(b"weights")
        meta["wall_s"] = 3.5
    entry = cache.lookup("finetune", "k1")
    assert entry is not None
    assert (entry.path / "model.safetensors").read_bytes() == b"weights"
    assert entry.metadata == {"wall_s": 3.5}


def test_a_second_write_keeps_the_first_entry_unless_forced(tmp_path):
    cache = StageCache(tmp_path)
    for content, replace in ((b"first", False), (b"second", False), (b"forced", True)):
        with cache.write("export", "k", replace=replace) as (folder, meta):
            (folder / "model.onnx").write_bytes(content)
            meta["content"] = content.decode()
        entry = cache.lookup("export", "k")
        # another run's entry at the same key is kept; --force (replace) makes the new result the entry
        expected = b"forced" if replace else b"first"
        assert (entry.path / "model.onnx").read_bytes() == expected
        assert entry.metadata["content"] == expected.decode()
    assert [p.name for p in (tmp_path / "export").iterdir()] == ["k"]  # no temporary folder left behind


def test_failed_write_leaves_nothing(tmp_path):
    cache = StageCache(tmp_path)
    try:
        with cache.write("export", "k2") as (folder, _):
            (folder / "model.onnx").write_bytes(b"half")
            raise RuntimeError("killed mid-export")
    except RuntimeError:
        pass
    assert cache.lookup("export", "k2") is None
    assert list((tmp_path / "export").iterdir()) == []


def test_corrupted_entry_is_detected_and_recomputed(tmp_path):
    cache = StageCache(tmp_path)
    with cache.write("finetune", "k3") as (folder, _):
        (folder / "model.safetensors").write_bytes(b"weights")
    (tmp_path / "finetune" / "k3" / "model.safetensors").write_bytes(b"weightz")
    assert cache.lookup("finetune", "k3") is None
    assert "corrupted" in cache.problems[0]
    assert not (tmp_path / "finetune" / "k3").exists()


def test_entry_without_manifest_is_incomplete(tmp_path):
    cache = StageCache(tmp_path)
    with cache.write("finetune", "k0") as (folder, _):  # the cache exists (and is marked) before the damage
        (folder / "f").write_text("x")
    (tmp_path / "finetune" / "k4").mkdir(parents=True)
    (tmp_path / "finetune" / "k4" / "model.safetensors").write_bytes(b"w")
    assert cache.lookup("finetune", "k4") is None
    assert "incomplete" in cache.problems[0]


def test_disabled_cache_never_hits(tmp_path):
    cache = StageCache(tmp_path)
    with cache.write("finetune", "k5") as (folder, _):
        (folder / "f").write_text("x")
    assert StageCache(tmp_path, enabled=False).lookup("finetune", "k5") is None


def test_size_and_clean(tmp_path):
    cache = StageCache(tmp_path)
    with cache.write("finetune", "k6") as (folder, _):
        (folder / "f").write_bytes(b"x" * 100)
    assert cache.size_bytes() >= 100
    old_tmp = tmp_path / "finetune" / ".tmp-k7-abc"
    old_tmp.mkdir()
    os.utime(old_tmp, (0, 0))
    assert cache.clean(older_than_days=1) == 1  # only the stale temporary folder
    assert (tmp_path / "finetune" / "k6" / MANIFEST).exists()
    assert cache.clean() == 1
    assert cache.size_bytes() == 0


def test_a_link_where_an_entry_goes_is_replaced_never_followed(tmp_path):
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "keep.txt").write_text("mine")
    cache = StageCache(tmp_path / "c")
    with cache.write("finetune", "k0") as (folder, _):
        (folder / "f").write_text("x")
    link = tmp_path / "c" / "finetune" / "k8"
    link.symlink_to(victim)
    assert cache.lookup("finetune", "k8") is None and "not a folder reusebench wrote" in cache.problems[0]
    with cache.write("finetune", "k8") as (folder, _):
        (folder / "f").write_text("y")
    assert not link.is_symlink() and (link / "f").read_text() == "y"
    assert [p.name for p in victim.iterdir()] == ["keep.txt"]


def test_derived_caches_are_bounded_and_cleaned(tmp_path):
    cache = StageCache(tmp_path / "c")
    folder = cache.derived_dir("datasets")
    for i in range(3):
        (folder / f"part{i}").write_bytes(b"z" * 100)
        os.utime(folder / f"part{i}", (i, i))
    assert cache.trim_derived("datasets", 150) == 2  # the two oldest go
    assert [p.name for p in folder.iterdir()] == ["part2"]
    assert ("datasets", 1, 100) in cache.summary()
    assert cache.clean() == 1 and list(folder.iterdir()) == []


def test_the_known_stages_are_the_registered_ones() -> None:
    from harness.stages import STAGES

    assert set(KNOWN_STAGES) == set(STAGES.names())
    assert not set(KNOWN_STAGES) & set(DERIVED_DIRS)


def test_the_first_write_marks_the_cache(tmp_path) -> None:
    cache = StageCache(tmp_path / "new")
    assert cache.check_root() == "missing"
    with cache.write("finetune", "d" * 32) as (folder, _):
        (folder / "f").write_text("x")
    assert cache.check_root() == "marked"
    foreign = StageCache(tmp_path / "foreign")
    (tmp_path / "foreign" / "Documents").mkdir(parents=True)
    with pytest.raises(ReusebenchError, match="not a reusebench cache"), foreign.write("finetune", "e" * 32):
        pass
    assert sorted(p.name for p in (tmp_path / "foreign").iterdir()) == ["Documents"]


def test_a_root_another_process_is_marking_is_claimed_too(tmp_path) -> None:
    """Two units (Ray workers) claiming one new cache at once: one sees the other's marker half-written, as
    its temporary file, and goes on instead of calling the folder foreign."""
    root = tmp_path / "shared"
    root.mkdir()
    (root / ".reusebench-cache.k2x9_q1.tmp").write_text("")
    cache = StageCache(root)
    assert cache.check_root() == "empty"
    with cache.write("finetune", "f" * 32) as (folder, _):
        (folder / "f").write_text("x")
    assert cache.check_root() == "marked"
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / ".reusebench-cache.bak").write_text("")  # not the marker's temporary file
    with pytest.raises(ReusebenchError, match="not a reusebench cache"):
        StageCache(tmp_path / "other").check_root()
