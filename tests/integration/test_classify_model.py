"""The document classifier end to end: synthetic corpus, training, ONNX export and the worker's runtime.

No database: a model is trained once for the module on a generated corpus (seed 1) and judged on texts
generated from another seed, then exported and loaded the way the worker loads it. Two tiny models with
deliberately different labels make a real ONNX/scikit-learn disagreement for the refusal test.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import onnx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.classify import corpus, runtime, training
from app.classify.corpus import CATEGORIES, LabelledText
from app.classify.runtime import ModelUnavailable, OnnxClassifier
from app.classify.training import ModelRejected, TrainedModel

# Texts where scikit-learn's and ONNX's tokenizers would part if they saw them unprepared.
WORLD_TEXTS = [
    "Rechnung Nr. RE-2024-118 für Müller & Söhne, Große Elbstraße 5, 20457 Hamburg — Gesamtbetrag 1.234,56 €",
    "Facture n° F2024-77 — Brûlerie Lefèvre, 12 rue de la Paix, Total TTC 98,40 €, échéance 30 jours",
    "Nota de crédito NC-55 — Cafetería El Patio, Señor Núñez, devolución de mercancía, importe −45,00 €",  # noqa: RUF001
    "ΤΙΜΟΛΟΓΙΟ αρ. 4471 Αθήνα — τσάι Assam 10 kg, σύνολο 182,00 € ΦΠΑ 24%",  # noqa: RUF001
    "Счёт-фактура № 512 от 03.04.2024, ООО «Чайная компания», чай зелёный 5 кг, итого 7 400 ₽",  # noqa: RUF001
    "発票 No. 88213 お茶 Sencha 20 kg 合計 ¥ 128,000 株式会社グリーンリーフ 東京都",
    "Packing slip DN-9912 — 绿茶 Jasmine pearls x 12, Paletten: 1, 收货人 签名",
    "Quittung — Ærø Kaffe ApS, Øster Allé 3, København — betalt med kort **** 4421, tak! ☕",
    "Certificado ecológico — Reglamento (UE) 2018/848 — operador: Tés Peña S.L. — válido hasta 31/12/2025",
    "Payment receipt #R-22 — received with thanks £ 420.00 — ﬁnal instalment — Ⅻ № 7",
    "עסקה: חשבונית מס 5512 — Total 300.00 USD — مرحبا فاتورة رقم 17",
    "Dear Zoë, the cups arrived crushed again. Could you send a credit note? Kind regards, Łukasz Wróbel",
]

# Written by hand for these tests, not by the generator: the model should still get them right.
CLEAR_EXAMPLES = [
    (
        "INVOICE\nInvoice No. INV-2024-0042\nDate: 12/03/2024\nBill to: The Corner Café, 4 High Street, Leeds\n"
        "10 x Earl Grey Supreme @ 29.00 = 290.00\nSubtotal 290.00\nVAT 20% 58.00\nTotal due 348.00 GBP\n"
        "Payment due within 30 days. Bank details IBAN GB29 NWBK 6016 1331 9268 19",
        "invoice",
    ),
    (
        "CREDIT NOTE CN-7781\nrelating to invoice INV-2024-0042\nReason: goods returned damaged\n"
        "2 x Paper cups 8oz (1000) -76.00\nThis amount will be deducted from your next invoice.",
        "credit note",
    ),
    (
        "PURCHASE ORDER\nPO number PO-5566\nSupplier: Green Leaf Tea Ltd\nDeliver to: Harbour Hotel Bristol\n"
        "20 kg Assam TGFOP loose tea\nRequested delivery date: 2024-05-02\nPlease confirm this order by return.",
        "purchase order",
    ),
    (
        "LIEFERSCHEIN Nr. LS-4411\nIhre Bestellung B-2231\nPaletten: 2\nKartons: 14\nGewicht: 310 kg\n"
        "Ware vollständig und unbeschädigt erhalten\nUnterschrift: ______",
        "delivery note",
    ),
    (
        "PRICE LIST\nValid from 1 April 2024\nTE1001 Sencha Uji green tea 41.00 per kg  from 10: 38.10\n"
        "CO2002 Espresso beans Italian roast 15.00 per kg\nAll prices exclusive of VAT, ex works.",
        "price list",
    ),
    (
        "SUPPLY AGREEMENT between Teehaus Müller GmbH (the Supplier) and Northgate Deli (the Buyer)\n"
        "1. Subject matter. 2. Term: 24 months, renews automatically unless terminated with three months' notice.\n"
        "7. Termination. 8. Governing law: England and Wales.",
        "contract",
    ),
    (
        "Certificate of Insurance\nPolicy number POL-88123\nInsured: Tea Leaf & Co. Wholesale Ltd\n"
        "Cover: Public and products liability\nLimit of indemnity £5,000,000\nPeriod of insurance 2024 to 2025",
        "certificate",
    ),
]


def _texts(items: list[LabelledText]) -> list[str]:
    return [item.text for item in items]


def _labels(items: list[LabelledText]) -> list[str]:
    return [item.category for item in items]


@pytest.fixture(scope="module")
def held_out() -> list[LabelledText]:
    return corpus.generate(60, seed=2)


@pytest.fixture(scope="module")
def model() -> TrainedModel:
    items = corpus.generate(150, seed=1)
    return training.train(_texts(items), _labels(items), seed=0)


@pytest.fixture(scope="module")
def exported(
    model: TrainedModel, held_out: list[LabelledText], tmp_path_factory: pytest.TempPathFactory
) -> training.Exported:
    return training.export(model, tmp_path_factory.mktemp("models") / "documents.onnx", _texts(held_out) + WORLD_TEXTS)


@pytest.fixture(scope="module")
def model_file(exported: training.Exported) -> Path:
    return exported.path


@pytest.fixture(scope="module")
def toy_models() -> tuple[TrainedModel, TrainedModel]:
    """Two small models on the same texts, the second taught every label shifted by one category."""
    items = corpus.generate(8, seed=11)
    shifted = {category: CATEGORIES[(i + 1) % len(CATEGORIES)] for i, category in enumerate(CATEGORIES)}
    honest = training.train(_texts(items), _labels(items))
    liar = training.train(_texts(items), [shifted[label] for label in _labels(items)])
    return honest, liar


@pytest.fixture(autouse=True)
def _fresh_cache() -> Iterator[None]:
    runtime.clear_cache()
    yield
    runtime.clear_cache()


# ---------------------------------------------------------------- corpus


def test_corpus_is_the_same_for_the_same_seed_and_differs_for_another() -> None:
    first, again, other = corpus.generate(6, seed=7), corpus.generate(6, seed=7), corpus.generate(6, seed=8)

    assert first == again
    assert len(set(_texts(first)) & set(_texts(other))) <= 2  # a one-line scrap may come out the same
    assert all(isinstance(item, LabelledText) for item in first)
    with pytest.raises(dataclasses.FrozenInstanceError):
        first[0].category = "invoice"  # type: ignore[misc]


def test_corpus_has_every_default_category_in_equal_numbers() -> None:
    from app.classify.categories import DEFAULT_CATEGORIES

    items = corpus.generate(12, seed=3)

    assert set(CATEGORIES) == {name for name, _, _ in DEFAULT_CATEGORIES}
    assert Counter(_labels(items)) == dict.fromkeys(CATEGORIES, 12)
    assert corpus.generate(0, seed=3) == []


def test_corpus_is_noisy_multilingual_and_varied() -> None:
    texts = _texts(corpus.generate(40, seed=4))
    joined = "\n".join(texts)

    def share(pattern: str) -> float:
        return sum(bool(re.search(pattern, text)) for text in texts) / len(texts)

    assert share(r"[a-z][01][a-z]|[0-9][Oo][0-9]") > 0.05  # OCR look-alikes inside words and numbers
    assert share(r"[^\x00-\x7f]") > 0.5  # accented names and foreign words
    assert sum(text.count("\n") <= 2 for text in texts) > 10  # very short documents
    assert share(r"Page 1 of|Seite 1/|Printed|Scanned|COPY|KOPIE") > 0.2  # page headers
    for word in ("Rechnung", "Facture", "Factura", "Lieferschein", "Albarán", "Avoir", "Gutschrift"):
        assert word.lower() in joined.lower(), word
    assert re.search(r"\b20\d\d-\d\d-\d\d\b", joined)
    assert re.search(r"\b\d\d\.\d\d\.20\d\d\b", joined)
    assert re.search(r"\b\d{1,3}(\.\d{3})*,\d\d\b", joined)  # 1.234,56
    assert re.search(r"\b\d{1,3}(,\d{3})*\.\d\d\b", joined)  # 1,234.56
    assert len({text.split("\n", 1)[0] for text in texts}) > 150  # many different openings


def test_split_is_stratified_disjoint_and_deterministic() -> None:
    items = corpus.generate(10, seed=5)

    train, test = corpus.split(items, 0.3, seed=1)

    assert corpus.split(items, 0.3, seed=1) == (train, test)
    assert corpus.split(items, 0.3, seed=2)[1] != test
    assert Counter(_labels(test)) == dict.fromkeys(CATEGORIES, 3)
    assert Counter(_labels(train)) == dict.fromkeys(CATEGORIES, 7)
    assert sorted(map(id, train + test)) == sorted(map(id, items))
    with pytest.raises(ValueError, match="between 0 and 1"):
        corpus.split(items, 1.0, seed=1)


# ---------------------------------------------------------------- text preparation


def test_normalize_makes_plain_lower_case_ascii() -> None:
    assert runtime.normalize("  Müller   Café\tÑandú\nÉCOLE Straße  ") == "muller cafe nandu ecole strasse"
    assert runtime.normalize("Total: 1.234,56 €  #42") == "total: 1.234,56 eur 42"
    for text in WORLD_TEXTS:
        prepared = runtime.normalize(text)
        assert prepared.isascii()
        assert prepared == prepared.lower().strip()
        assert "  " not in prepared
        assert "#" not in prepared  # the ONNX tokenizer pads with "#"
    assert runtime.normalize("Счёт ΤΙΜΟΛΟΓΙΟ 発票") == ""


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(max_codepoint=127), max_size=200))
def test_the_ascii_shortcut_prepares_text_exactly_as_the_full_path(text: str) -> None:
    shortcut = runtime.normalize(text)
    full = runtime._SPACES.sub(" ", runtime._NOT_KEPT.sub(" ", runtime._fold_unicode(text))).strip()
    assert shortcut == full


def test_prepare_truncates_before_the_model() -> None:
    assert len(runtime.prepare("invoice-" * 10_000)) == runtime.DEFAULT_MAX_CHARS
    assert runtime.prepare("Rechnung " * 10_000, max_chars=100) == "rechnung " * 11 + "r"
    assert runtime.prepare(None) == ""
    assert runtime.prepare("") == ""


# ---------------------------------------------------------------- training and export


def test_the_model_is_good_but_not_perfect_on_held_out_texts(model: TrainedModel, held_out: list[LabelledText]) -> None:
    evaluation = training.evaluate(model, _texts(held_out), _labels(held_out))

    assert evaluation.macro_f1 >= 0.85
    assert evaluation.macro_f1 < 0.995  # the corpus is meant to be confusable, not trivially separable
    assert evaluation.size == len(held_out)
    assert evaluation.labels == sorted(CATEGORIES)
    assert sum(map(sum, evaluation.confusion)) == len(held_out)
    assert [sum(row) for row in evaluation.confusion] == [60] * len(CATEGORIES)
    assert evaluation.accuracy == pytest.approx(
        sum(evaluation.confusion[i][i] for i in range(len(CATEGORIES))) / len(held_out)
    )
    assert all(scores.support == 60 for scores in evaluation.per_class.values())
    dumped = json.loads(json.dumps(evaluation.to_dict()))
    assert dumped["macro_f1"] == evaluation.macro_f1
    assert dumped["per_class"]["invoice"].keys() == {"precision", "recall", "f1", "support"}


def test_onnx_agrees_with_scikit_learn_including_accents_and_other_scripts(
    model: TrainedModel, held_out: list[LabelledText], exported: training.Exported, model_file: Path
) -> None:
    assert training.check_agreement(model, _texts(held_out)) >= 0.995
    assert training.check_agreement(model, WORLD_TEXTS) == 1.0
    assert exported.checked == len(held_out) + len(WORLD_TEXTS)
    assert exported.max_probability_gap < 1e-5  # the same numbers, not merely the same winners
    classifier = runtime.load(model_file)
    assert float(classifier.metadata["agreement"]) >= 0.995
    assert json.loads(classifier.metadata["labels"]) == sorted(CATEGORIES)


def test_word_pairs_whose_words_were_cut_are_left_out(monkeypatch: pytest.MonkeyPatch, model: TrainedModel) -> None:
    from sklearn.feature_extraction.text import CountVectorizer

    monkeypatch.setattr(training, "MAX_WORD_FEATURES", 2)
    texts = ["aa zz", "aa zz"]  # "aa", "aa zz" and "zz" tie; the cut keeps the first two
    plain = CountVectorizer(token_pattern=training.WORD_PATTERN, ngram_range=(1, 2), min_df=2, max_features=2)

    assert sorted(plain.fit(texts).vocabulary_) == ["aa", "aa zz"]  # what ONNX would never count
    assert training.word_vocabulary(texts) == ["aa"]
    words = model.pipeline.named_steps["features"].transformer_list[0][1].vocabulary_
    assert all(word in words for term in words for word in term.split(" "))


def test_export_writes_a_model_with_its_figures(model: TrainedModel, tmp_path: Path) -> None:
    exported = training.export(model, tmp_path / "deep" / "m.onnx", WORLD_TEXTS)

    assert exported.size_bytes == exported.path.stat().st_size > 0
    assert exported.agreement == 1.0
    assert exported.max_probability_gap < 1e-4
    assert exported.checked == len(WORLD_TEXTS)
    assert len(exported.sha256) == 64
    assert list(tmp_path.joinpath("deep").iterdir()) == [exported.path]  # no temporary file left behind


def test_export_refuses_a_model_whose_onnx_form_disagrees(
    toy_models: tuple[TrainedModel, TrainedModel], tmp_path: Path
) -> None:
    honest, liar = toy_models
    texts = _texts(corpus.generate(10, seed=12))
    mismatched = dataclasses.replace(honest, onnx_model=liar.onnx_model)  # the right pipeline, the wrong ONNX
    path = tmp_path / "documents.onnx"
    training.export(honest, path, texts)
    before = path.read_bytes()

    assert training.check_agreement(honest, texts) >= 0.995
    with pytest.raises(ModelRejected, match=r"only \d+\.\d% of 100 held-out texts.*not saved") as refused:
        training.export(mismatched, path, texts)

    assert refused.value.agreement < 0.5
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["documents.onnx"]


def test_training_needs_matching_texts_and_two_categories() -> None:
    with pytest.raises(ValueError, match="2 texts but 1 labels"):
        training.train(["a b", "c d"], ["invoice"])
    with pytest.raises(ValueError, match="at least two categories"):
        training.train(["invoice one", "invoice two", ""], ["invoice", "invoice", "other"])


# ---------------------------------------------------------------- runtime


def test_predict_gives_the_top_three_with_probabilities(model_file: Path) -> None:
    classifier = runtime.load(model_file)

    for text, expected in CLEAR_EXAMPLES:
        top = classifier.predict(text)
        assert len(top) == 3
        assert top[0][0] == expected, (text, top)
        probabilities = [p for _, p in top]
        assert probabilities == sorted(probabilities, reverse=True)
        assert 0 < sum(probabilities) <= 1 + 1e-6
        assert len({label for label, _ in top}) == 3

    many = classifier.predict_many([text for text, _ in CLEAR_EXAMPLES] + ["", "   "], k=1)
    assert [result[0][0] if result else None for result in many] == [label for _, label in CLEAR_EXAMPLES] + [
        None,
        None,
    ]


def test_empty_text_gives_no_prediction(model_file: Path) -> None:
    classifier = runtime.load(model_file)

    assert classifier.predict("") == []
    assert classifier.predict(" \n\t ") == []
    assert classifier.predict(None) == []
    assert classifier.predict("Счёт ΤΙΜΟΛΟΓΙΟ 発票") == []  # nothing the model can read
    assert classifier.predict("invoice", k=0) == []


def test_a_huge_text_is_cut_to_the_limit(model_file: Path) -> None:
    classifier = runtime.load(model_file)
    huge = CLEAR_EXAMPLES[0][0] + "\n" + "lorem ipsum dolor sit amet " * 200_000

    assert classifier.predict(huge, k=1)[0][0] == "invoice"


def test_a_missing_or_damaged_model_is_unavailable(tmp_path: Path, model_file: Path) -> None:
    with pytest.raises(ModelUnavailable, match="There is no classification model at"):
        runtime.load(tmp_path / "missing.onnx")
    with pytest.raises(ModelUnavailable, match="is a folder"):
        runtime.load(tmp_path)

    (tmp_path / "empty.onnx").write_bytes(b"")
    with pytest.raises(ModelUnavailable, match="empty file"):
        runtime.load(tmp_path / "empty.onnx")

    (tmp_path / "garbage.onnx").write_bytes(os.urandom(2000))
    with pytest.raises(ModelUnavailable, match="damaged or is not a model"):
        runtime.load(tmp_path / "garbage.onnx")

    (tmp_path / "cut.onnx").write_bytes(model_file.read_bytes()[: model_file.stat().st_size // 2])
    with pytest.raises(ModelUnavailable, match="damaged or is not a model"):
        runtime.load(tmp_path / "cut.onnx")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"labels": None}, "does not say which categories"),
        ({"labels": "not json"}, "does not say which categories"),
        ({"labels": "[]"}, "unreadable list of categories"),
        ({"labels": '["a", "b"]'}, "gives 10 probabilities for 2 categories"),
        ({"normalizer": "something-else"}, "train the model again"),
    ],
)
def test_a_model_with_wrong_metadata_is_unavailable(
    model_file: Path, tmp_path: Path, change: dict[str, str | None], message: str
) -> None:
    proto = onnx.load(model_file)
    props = {entry.key: entry.value for entry in proto.metadata_props} | change
    del proto.metadata_props[:]
    onnx.helper.set_model_props(proto, {key: value for key, value in props.items() if value is not None})
    path = tmp_path / "changed.onnx"
    onnx.save(proto, path)

    with pytest.raises(ModelUnavailable, match=message):
        OnnxClassifier(path)


def test_load_reuses_the_session_and_picks_up_a_new_file(
    model_file: Path, toy_models: tuple[TrainedModel, TrainedModel], tmp_path: Path
) -> None:
    path = tmp_path / "active.onnx"
    path.write_bytes(model_file.read_bytes())
    first = runtime.load(path)

    assert runtime.load(path) is first
    assert runtime.load(str(path)) is first
    assert runtime.load(path, threads=2) is not first
    assert runtime.load(path, threads=2).threads == 2

    honest, _ = toy_models
    training.export(honest, path, WORLD_TEXTS)  # replaced in place, as a promotion does
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    second = runtime.load(path)

    assert second is not first
    assert second.metadata["training_size"] == str(honest.training_size)
    assert runtime.load(path) is second
    assert first.predict("INVOICE total due") != []  # the old session still works for whoever holds it

    path.unlink()
    with pytest.raises(ModelUnavailable):
        runtime.load(path)


def test_the_runtime_needs_no_training_libraries() -> None:
    code = (
        "import sys, app.classify.runtime\n"
        "loaded = sorted(m for m in ('sklearn', 'skl2onnx', 'onnx', 'scipy') if m in sys.modules)\n"
        "print(loaded)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=Path(__file__).parents[2]
    )

    assert result.stdout.strip() == "[]"
