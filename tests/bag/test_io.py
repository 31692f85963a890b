"""read_text and to_textfiles against plain Python's text-mode reading."""
from __future__ import annotations

import bz2
import gzip
import lzma

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import shoal.bag as db
from shoal.bag import io as bagio

LINES = [f"line {i} caf\u00e9 \u65e5\u672c {'x' * (i % 7)}\n" for i in range(200)]
TEXT = "".join(LINES)


def _python_lines(path, opener=open, encoding="utf-8"):
    with opener(path, "rt", encoding=encoding) as f:
        return f.readlines()


@pytest.mark.parametrize("ext,opener", [("", open), (".gz", gzip.open), (".bz2", bz2.open),
                                        (".xz", lzma.open), (".zst", None)])
def test_compression_inferred_from_extension(tmp_path, ext, opener):
    paths = []
    for k in range(3):
        p = tmp_path / f"f{k}.txt{ext}"
        data = TEXT.encode()
        if ext == ".zst":
            import zstandard

            p.write_bytes(zstandard.ZstdCompressor().compress(data))
        elif opener is open:
            p.write_bytes(data)
        else:
            with opener(p, "wb") as f:
                f.write(data)
        paths.append(str(p))
    b = db.read_text(str(tmp_path / f"f*.txt{ext}"))
    assert b.npartitions == 3
    assert b.compute(scheduler="sync") == LINES * 3
    assert b.count().compute(scheduler="processes") == 600


def test_concatenated_gzip_members(tmp_path):
    p = tmp_path / "cat.gz"
    p.write_bytes(gzip.compress(b"a\nb\n") + gzip.compress(b"c\nd"))
    assert db.read_text(str(p)).compute(scheduler="sync") == ["a\n", "b\n", "c\n", "d"]


@pytest.mark.parametrize("chunk", [1, 3, 7, 64])
def test_chunk_boundaries_keep_lines_and_characters_whole(tmp_path, monkeypatch, chunk):
    text = "\u00e9\u00e9\r\nab\rcd\n\n\u65e5x\r\n\r\nlast"
    p = tmp_path / "t.txt.gz"
    with gzip.open(p, "wb") as f:
        f.write(text.encode())
    monkeypatch.setattr(bagio, "CHUNK", chunk)
    with gzip.open(p, "rt", encoding="utf-8") as f:
        expected = f.readlines()
    assert db.read_text(str(p)).compute(scheduler="sync") == expected


line_st = st.tuples(
    st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\r\n"), max_size=12),
    st.sampled_from(["\n", "\r\n", "\r"]),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(lines=st.lists(line_st, max_size=30), blocksize=st.integers(1, 80), last=st.booleans())
def test_blocks_are_line_aligned(tmp_path, lines, blocksize, last):
    text = "".join(a + e for a, e in lines)
    if last and lines:
        text = text[: -len(lines[-1][1])]  # a last line without its ending
    p = tmp_path / "blocks.txt"
    p.write_bytes(text.encode())
    expected = _python_lines(p)
    b = db.read_text(str(p), blocksize=blocksize)
    assert b.npartitions == max(1, -(-len(text.encode()) // blocksize))
    assert b.compute(scheduler="sync") == expected


def test_blocksize_string_and_partitions(tmp_path):
    p = tmp_path / "big.txt"
    p.write_text(TEXT * 20, encoding="utf-8")
    size = p.stat().st_size
    b = db.read_text(str(p), blocksize="4KiB")
    assert b.npartitions == -(-size // 4096)
    assert b.compute(scheduler="processes") == LINES * 20
    parts = [len(x) for x in db.compute(*b.to_delayed(), scheduler="sync")]
    assert sum(parts) == 4000 and min(parts) > 0


def test_compressed_file_with_blocksize_is_a_clear_error(tmp_path):
    p = tmp_path / "a.txt.gz"
    p.write_bytes(gzip.compress(b"x\n"))
    with pytest.raises(ValueError, match="blocksize=None"):
        db.read_text(str(p), blocksize=100)


def test_no_match_names_the_pattern(tmp_path):
    pat = str(tmp_path / "nothing-here-*.gz")
    with pytest.raises(FileNotFoundError, match="nothing-here-"):
        db.read_text(pat)
    with pytest.raises(FileNotFoundError, match="missing.txt"):
        db.read_text([str(tmp_path / "missing.txt")])


def test_list_include_path_files_per_partition(tmp_path):
    paths = []
    for k in range(5):
        p = tmp_path / f"p{k}.txt"
        p.write_text(f"a{k}\nb{k}\n")
        paths.append(str(p))
    b = db.read_text(paths, include_path=True)
    assert b.npartitions == 5
    out = b.compute(scheduler="sync")
    assert out == [(f"{c}{k}\n", paths[k]) for k in range(5) for c in "ab"]
    g = db.read_text(paths, files_per_partition=2)
    assert g.npartitions == 3
    assert g.compute(scheduler="processes") == [f"{c}{k}\n" for k in range(5) for c in "ab"]
    with pytest.raises(ValueError, match="together"):
        db.read_text(paths, files_per_partition=2, blocksize=10)


def test_encoding_errors_and_linedelimiter(tmp_path):
    p = tmp_path / "latin.txt"
    p.write_bytes("caf\u00e9\nna\u00efve\n".encode("latin-1"))
    assert db.read_text(str(p), encoding="latin-1").compute(scheduler="sync") == ["caf\u00e9\n", "na\u00efve\n"]
    with pytest.raises(UnicodeDecodeError):
        db.read_text(str(p)).compute(scheduler="sync")
    got = db.read_text(str(p), errors="replace").compute(scheduler="sync")
    assert got == ["caf\ufffd\n", "na\ufffdve\n"]
    q = tmp_path / "pipes.txt"
    q.write_text("a|b\nc|d")
    assert db.read_text(str(q), linedelimiter="|").compute(scheduler="sync") == ["a|", "b\nc|", "d"]


def test_empty_file_is_one_empty_partition(tmp_path):
    (tmp_path / "e.txt").write_text("")
    (tmp_path / "f.txt").write_text("x\n")
    b = db.read_text(str(tmp_path / "*.txt"))
    assert b.npartitions == 2
    assert b.count().compute(scheduler="processes") == 1
    assert b.compute(scheduler="sync") == ["x\n"]


@pytest.mark.parametrize("ext", ["", ".gz", ".bz2"])
def test_to_textfiles_roundtrip(tmp_path, ext):
    b = db.from_sequence([f"row {i}" for i in range(25)], npartitions=3)
    out = b.to_textfiles(str(tmp_path / f"out/*.txt{ext}"), scheduler="processes")
    assert out == [str(tmp_path / f"out/{i}.txt{ext}") for i in range(3)]
    back = db.read_text(str(tmp_path / f"out/*.txt{ext}")).map(str.rstrip).compute(scheduler="sync")
    assert back == [f"row {i}" for i in range(25)]
    if ext == ".gz":
        with gzip.open(out[0], "rt") as f:
            assert f.read().startswith("row 0\nrow 1\n")


def test_to_textfiles_lines_from_read_text_are_not_doubled(tmp_path):
    src = tmp_path / "in.txt"
    src.write_text("a\nb\nc\n")
    out = db.read_text(str(src)).to_textfiles(str(tmp_path / "o"), name_function=lambda i: f"part{i}",
                                              last_endline=True, scheduler="sync")
    assert out == [str(tmp_path / "o" / "part0.part")]
    assert open(out[0]).read() == "a\nb\nc\n"
    delayed_writes = db.from_sequence(["z"]).to_textfiles([str(tmp_path / "z.txt")], compute=False)
    assert not (tmp_path / "z.txt").exists()
    import shoal

    shoal.compute(*delayed_writes, scheduler="sync")
    assert (tmp_path / "z.txt").read_text() == "z"


def test_to_textfiles_rejects_non_strings(tmp_path):
    with pytest.raises(TypeError, match="json.dumps"):
        db.from_sequence([1, 2]).to_textfiles(str(tmp_path / "*.txt"), scheduler="sync")


def test_directory_reads_every_file(tmp_path):
    d = tmp_path / "dir"
    d.mkdir()
    (d / "b.txt").write_text("2\n")
    (d / "a.txt").write_text("1\n")
    assert db.read_text(str(d)).compute(scheduler="sync") == ["1\n", "2\n"]
