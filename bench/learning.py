"""Learning from reviews on a real corpus: the app's suggestions after 10 to 1,000 reviews, beside a plain anchor.

The corpus is this machine's own manual pages, labelled by their section: 1 user commands, 2 system calls,
3 library functions, 5 file formats, 7 overviews, 8 administration commands (sections 4 and 6 have too few
pages). Why these: they are real documents written by thousands of people, their label is fixed by where
Debian installs them (no one labelled them for us), every Debian machine has them, and the sections overlap
the way real paperwork does (a command in 1 or 8, a function in 2 or 3), so the task is neither trivial nor
noise. What they are not: business paperwork; the first model knows nothing of them, which is the situation
of an installation whose people file a new kind of document.

Pages are read from /usr/share/man/man<section> (gzipped roff), the symbolic links and `.so` redirects left
out, turned into plain text by `roff_text` (our own few rules: macros dropped, their words kept, escapes
resolved; the `.TH`/`.Dt` title lines, which name the section, are dropped), identical texts kept once, and
at most `PER_SECTION` pages per section drawn with the seed. Then, with the seed: a fixed test set
(`--test-size`, 500), never reviewed, and a stream of pages to review, in order.

The app is the real one, as `make run` leaves it: SQLite and the models folder in a temporary directory, the
default categories, a first model trained by `retraining.train_candidate` (150 generated texts per category,
seed 1) and promoted; then the six sections become categories (`categories.create_category`), a reviewer is
created, and each stream page becomes a processed Document that the worker's classify step suggests a category
for (`service.classify_document`) and that the reviewer then files under its section through
`service.review_document`, the function the review page calls (the memory of reviews learns it there). At
each checkpoint (10, 30, 100, 300, 1,000 reviews) the app retrains as its worker does
(`retraining.train_candidate(per_category=retraining.TRAIN_PER_CATEGORY)`: train, measure, promote by its rule)
and every test page is put to `service.classify_document` (model, memory and calibration: what the worker
stores); the app's suggestion is the first of its predictions.

The anchor: scikit-learn's `TfidfVectorizer()` and `LogisticRegression()` with their defaults (max_iter
raised so it converges), trained in the same run on exactly the pages reviewed so far, all of them. The app
trains on four in five of them only: `evaluation.is_held_out` keeps one in five for measuring models, and the
memory does not remember those either. The column "anchor 4/5" is the anchor trained on the same four in five.

    .venv/bin/python bench/classify.py --learning [--checkpoints 10,30,100,300,1000] [--test-size 500]
"""

from __future__ import annotations

import gzip
import hashlib
import random
import re
import shutil
import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select

from app import create_app
from app.auth import service as users
from app.auth.models import User
from app.classify import categories, evaluation, memory, retraining
from app.classify import service as classify
from app.classify.models import Category
from app.config import config_for_tests
from app.documents.models import Document
from app.extensions import db
from bench.machine import load_average

MAN_ROOT = Path("/usr/share/man")
SECTIONS = {
    "1": "user commands",
    "2": "system calls",
    "3": "library functions",
    "5": "file formats",
    "7": "overviews",
    "8": "administration commands",
}
# The Google Cloud SDK installs 16,631 pages in section 1, all made from one template: drawn at random they would
# be nine in ten of "user commands", and the task would be "recognise gcloud". They are left out.
LEFT_OUT = ("gcloud",)
PER_SECTION = 400  # at most, so that section 1's 17,000 pages do not make the task "say user commands"
MIN_CHARS = 300  # a page with less text than this (after conversion) is a stub
CHECKPOINTS = (10, 30, 100, 300, 1_000)
TEST_SIZE = 500
SEED = 16
ORDERS = 4  # stream orders for the checkpoints up to SMALL: the one of SEED, and three more
SMALL = 30
REVIEWER = "ana@example.com"
FIRST_MODEL_PER_CATEGORY = 150  # `flask model train`'s default: the model `make run` leaves
FIRST_MODEL_SEED = 1


# ---------------------------------------------------------------- roff to text

_DROPPED_MACROS = {"TH", "Dt", "Dd", "Os", "so", "ig", "de", "ds", "nr", "tr", "ta", "ft", "ps", "ll", "in", "ti"}
_ALTERNATING = {"BR", "RB", "BI", "IB", "IR", "RI", "SB"}
_ESCAPE_NAMES = {"em": " - ", "en": "-", "hy": "-", "bu": "*", "lq": '"', "rq": '"', "aq": "'", "dq": '"', "co": "(c)"}
_ESCAPES = re.compile(
    r"\\(?:"
    r"f(?:\[[^\]]*\]|\(..|.)"  # font changes
    r"|s[+-]?(?:\d+|\[[^\]]*\])"  # size changes
    r"|\*(?:\[[^\]]*\]|\(..|.)"  # strings
    r"|n(?:\[[^\]]*\]|\(..|.)"  # number registers
    r"|\((?P<two>..)"  # special characters \(xx
    r"|\[(?P<long>[^\]]*)\]"  # special characters \[name]
    r"|(?P<one>.)"
    r")"
)
_MDOC_WORD = re.compile(r"^[A-Z][a-z][a-z]?$")  # mdoc's own macro names inside a line (Fl, Ar, Op, ...)


def _escape(match: re.Match[str]) -> str:
    if match.group("two") is not None:
        return _ESCAPE_NAMES.get(match.group("two"), " ")
    if match.group("long") is not None:
        return _ESCAPE_NAMES.get(match.group("long"), " ")
    one = match.group("one")
    if one is None:
        return ""  # fonts, sizes, strings, registers
    return {"-": "-", "e": "\\", " ": " ", "~": " ", "0": " ", "t": " "}.get(one, "" if one in "&|^%c:,/dup" else one)


def _arguments(rest: str) -> list[str]:
    """A macro line's arguments: words, or "quoted words" kept together."""
    return [quoted if quoted else bare for quoted, bare in re.findall(r'"([^"]*)"|(\S+)', rest)]


def roff_text(source: str) -> str:
    """The words a reader of a manual page sees, one paragraph per line, from its roff (man or mdoc) source."""
    lines: list[str] = []
    source = source.replace("\\\n", "")  # continued lines
    for line in source.splitlines():
        if line.startswith((".", "'")):
            body = line[1:].lstrip()
            if body.startswith(('\\"', '"')) or not body:
                continue  # comments
            name, _, rest = body.partition(" ")
            if name in _DROPPED_MACROS or name.startswith("\\"):
                continue
            words = _arguments(rest)
            if name in _ALTERNATING:
                line = "".join(words)
            elif name[:1].isupper() and len(name) <= 2 and not name.isupper():  # mdoc: drop the inner macro names
                line = " ".join(word for word in words if not _MDOC_WORD.match(word))
            else:
                line = " ".join(words)
            if name in ("SH", "SS", "Sh", "Ss"):
                line = f"\n{line}\n"
        lines.append(_ESCAPES.sub(_escape, line))
    text = "\n".join(lines)
    return re.sub(r"\n{3,}", "\n\n", re.sub(r"[ \t]+", " ", text)).strip()


# ---------------------------------------------------------------- the corpus


@dataclass(frozen=True)
class Page:
    name: str  # e.g. "open.2"
    section: str  # its category's name
    text: str


def _read(path: Path) -> str:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8", errors="replace") as file:
        return file.read(400_000)


def man_pages(per_section: int, seed: int) -> list[Page]:
    """At most `per_section` distinct readable pages of each section, drawn with `seed`, in a shuffled order."""
    rng = random.Random(seed)
    pages: list[Page] = []
    seen: set[str] = set()
    for number, name in SECTIONS.items():
        paths = sorted(
            path
            for path in (MAN_ROOT / f"man{number}").iterdir()
            if not path.is_symlink() and not path.name.startswith(LEFT_OUT)
        )
        rng.shuffle(paths)
        taken = 0
        for path in paths:
            try:
                source = _read(path)
            except OSError:
                continue
            if source.lstrip().startswith((".so ", "'so ")):
                continue
            text = roff_text(source)
            digest = hashlib.sha256(text.encode()).hexdigest()
            if len(text) < MIN_CHARS or digest in seen:
                continue
            seen.add(digest)
            pages.append(Page(path.name.removesuffix(".gz"), name, text))
            taken += 1
            if taken == per_section:
                break
    rng.shuffle(pages)
    return pages


# ---------------------------------------------------------------- the anchor


def anchor_accuracy(texts: list[str], labels: list[str], test: list[Page]) -> float:
    """Plain scikit-learn TF-IDF + logistic regression, with their defaults, trained on `texts`."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    truth = [page.section for page in test]
    if len(set(labels)) < 2:  # one category seen so far: that is all it can answer
        return sum(label == labels[0] for label in truth) / len(truth)
    vectorizer = TfidfVectorizer()
    model = LogisticRegression(max_iter=1_000)
    model.fit(vectorizer.fit_transform(texts), labels)
    predicted = model.predict(vectorizer.transform([page.text for page in test]))
    return sum(p == t for p, t in zip(predicted, truth, strict=True)) / len(truth)


# ---------------------------------------------------------------- the app


def _open_app(root: Path):
    return create_app(config_for_tests(root, f"sqlite:///{root}/learning.db"))


def build_template(root: Path) -> int:
    """A fresh app as `make run` leaves it, with the six sections as categories and one reviewer; the first model's
    version. Every stream order starts from a copy of this folder (database and models)."""
    app = _open_app(root)
    with app.app_context():
        db.create_all()
        categories.ensure_default_categories()
        outcome = retraining.train_candidate(per_category=FIRST_MODEL_PER_CATEGORY, seed=FIRST_MODEL_SEED)
        if not outcome.promoted:
            raise SystemExit("The first model was not promoted.")
        for name in SECTIONS.values():
            categories.create_category(name, description="Manual pages of this section", user_id=None)
        users.create_user(REVIEWER, "staff", "a-long-bench-password", actor_id=None)
        version = outcome.candidate.id
        db.session.remove()
        db.engine.dispose()
    return version


def _add_document(page: Page, index: int) -> int:
    text = page.text
    document = Document(
        sha256=hashlib.sha256(f"{index}:{page.name}".encode()).hexdigest(),
        filename=f"{page.name}.txt",
        size=len(text),
        mime="text/plain",
        kind="text",
        state="processed",
        text=text,
        text_sha256=classify.text_checksum(text),
    )
    db.session.add(document)
    db.session.commit()
    return document.id


def review_page(page: Page, index: int, category_id: int, reviewer_id: int) -> bool:
    """The worker classifies the page, then the reviewer files it; whether the app's suggestion was right."""
    document_id = _add_document(page, index)
    outcome = classify.classify_document(document_id, page.text)
    document = db.session.get(Document, document_id)
    for column, value in outcome.as_fields().items():
        setattr(document, column, value)
    db.session.commit()
    classify.review_document(document_id, category_id, user_id=reviewer_id)
    return bool(outcome.predictions) and outcome.predictions[0][0] == page.section


def app_suggestions(test: list[Page]) -> tuple[float, float, float]:
    """Accuracy of the app's first suggestion on the test pages; share first suggested by the memory; its accuracy."""
    right = by_memory = memory_right = 0
    for page in test:
        outcome = classify.classify_document(0, page.text)
        first = outcome.predictions[0][0] if outcome.predictions else None
        hit = first == page.section
        right += hit
        if memory.is_memory_reason(outcome.review_reason):
            by_memory += 1
            memory_right += hit
    return right / len(test), by_memory / len(test), (memory_right / by_memory if by_memory else float("nan"))


@dataclass
class Row:
    order: int
    reviews: int
    trained_on: int  # reviewed pages the app may train on (not held out)
    app: float
    anchor: float
    anchor_train_part: float
    memory_share: float
    memory_precision: float
    stream_right: float
    promoted: bool
    version: int
    decided_by: str
    seconds: float


def learning_curve(
    template: Path, root: Path, order: int, stream: list[Page], test: list[Page], checkpoints: list[int]
) -> list[Row]:
    """Reviews of `stream` in order, in a copy of the template app, measured at each checkpoint."""
    shutil.copytree(template, root)
    app = _open_app(root)
    rows: list[Row] = []
    reviewed: list[Page] = []
    stream_hits: list[bool] = []
    with app.app_context():
        ids = dict(db.session.execute(select(Category.key, Category.id)).all())
        reviewer_id = db.session.scalar(select(User.id).where(User.email == REVIEWER))
        db.session.remove()
    for checkpoint in sorted(checkpoints):
        began = time.perf_counter()
        with app.app_context():
            for index in range(len(reviewed), checkpoint):
                page = stream[index]
                stream_hits.append(review_page(page, index, ids[page.section], reviewer_id))
                reviewed.append(page)
            review_seconds = time.perf_counter() - began
            trained = time.perf_counter()
            outcome = retraining.train_candidate(per_category=retraining.TRAIN_PER_CATEGORY)
            train_seconds = time.perf_counter() - trained
            decided_by = (outcome.candidate.metrics.get("decision") or {}).get("by", "?")
            accuracy, memory_share, memory_precision = app_suggestions(test)
            db.session.remove()
        since = stream_hits[-(checkpoint - (rows[-1].reviews if rows else 0)) :]
        texts = [page.text for page in reviewed]
        labels = [page.section for page in reviewed]
        train_part = [i for i, text in enumerate(texts) if not evaluation.is_held_out(text)]
        row = Row(
            order=order,
            reviews=checkpoint,
            trained_on=len(train_part),
            app=accuracy,
            anchor=anchor_accuracy(texts, labels, test),
            anchor_train_part=anchor_accuracy([texts[i] for i in train_part], [labels[i] for i in train_part], test)
            if train_part
            else float("nan"),
            memory_share=memory_share,
            memory_precision=memory_precision,
            stream_right=sum(since) / len(since),
            promoted=outcome.promoted,
            version=outcome.candidate.id,
            decided_by=decided_by,
            seconds=time.perf_counter() - began,
        )
        rows.append(row)
        print(
            f"  order {order}, {checkpoint:>5} reviews ({len(train_part)} trained on): app {row.app:.3f}, anchor "
            f"{row.anchor:.3f} ({row.app - row.anchor:+.3f}); version {row.version} "
            f"{'promoted' if row.promoted else 'not promoted'} (decided on {decided_by}); reviews "
            f"{review_seconds:.1f} s, retrain {train_seconds:.1f} s, {row.seconds:.1f} s in all",
            flush=True,
        )
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    return rows


def run(checkpoints: list[int], test_size: int, orders: int = ORDERS, seed: int = SEED) -> list[Row]:
    """The learning run; prints its progress and the tables, returns the rows."""
    started, cpu = time.perf_counter(), time.process_time()
    print(f"### Learning from reviews: manual pages by section (seed {seed})")
    print()
    pages = man_pages(PER_SECTION, seed)
    needed = test_size + max(checkpoints)
    if len(pages) < needed:
        raise SystemExit(f"Only {len(pages)} usable manual pages; {needed} are needed.")
    test, pool = pages[:test_size], pages[test_size:]
    counts = {name: sum(page.section == name for page in pages) for name in SECTIONS.values()}
    chars = [len(page.text) for page in pages]
    print(
        f"Corpus: {len(pages)} pages from {MAN_ROOT} in {time.perf_counter() - started:.1f} s ("
        + ", ".join(f"{n} {name}" for name, n in counts.items())
        + f"), {statistics.median(chars):,.0f} characters median"
    )
    print(
        f"Test set: {len(test)} pages, never reviewed ("
        + ", ".join(f"{sum(p.section == name for p in test)} {name}" for name in SECTIONS.values())
        + f"); stream: {max(checkpoints)} pages to review. Load average {load_average()}."
    )
    small = [c for c in checkpoints if c <= SMALL]
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="qm-bench-learning-") as folder:
        template = Path(folder) / "template"
        began = time.perf_counter()
        first_version = build_template(template)
        app = _open_app(template)
        with app.app_context():
            before, _, _ = app_suggestions(test)
            db.session.remove()
            db.engine.dispose()
        print(
            f"App: default categories, first model (version {first_version}) in {time.perf_counter() - began:.1f} s; "
            f"its first suggestion is right for {before:.3f} of the test pages"
        )
        print()
        rows += learning_curve(template, Path(folder) / "order0", 0, pool[: max(checkpoints)], test, checkpoints)
        if small and orders > 1:
            print()
            print(f"  {orders - 1} more stream orders, up to {max(small)} reviews (one draw of ten is mostly luck):")
        for order in range(1, orders if small else 1):
            stream = random.Random(seed + order).sample(pool, max(small))
            rows += learning_curve(template, Path(folder) / f"order{order}", order, stream, test, small)
    print()
    print_table([row for row in rows if row.order == 0], len(test))
    if small and orders > 1:
        print()
        print_orders(rows, small, orders)
    print()
    print(
        f"Learning run done in {time.perf_counter() - started:.0f} s ({time.process_time() - cpu:.0f} s of CPU in "
        f"this process); load average {load_average()}."
    )
    return rows


def print_table(rows: list[Row], test_size: int) -> None:
    print(
        "| reviews | app | anchor | app - anchor | anchor 4/5 | memory first | memory right "
        "| stream right | version | promoted | decided on | seconds |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|:--|:--|---:|")
    for row in rows:
        print(
            f"| {row.reviews:,} | {row.app:.3f} | {row.anchor:.3f} | {row.app - row.anchor:+.3f} "
            f"| {row.anchor_train_part:.3f} | {row.memory_share:.2f} | {row.memory_precision:.3f} "
            f"| {row.stream_right:.3f} | {row.version} | {'yes' if row.promoted else 'no'} | {row.decided_by} "
            f"| {row.seconds:.1f} |"
        )
    print()
    print(
        f"app and anchor: accuracy of the first suggestion on the {test_size} test pages. anchor 4/5: the anchor\n"
        "trained on the reviewed pages the app may train on (evaluation.is_held_out keeps one in five). memory\n"
        "first: share of test pages whose first suggestion is the memory's, memory right: how many of those are\n"
        "right. stream right: the app's suggestion was right when the page came to be reviewed (reviews since the\n"
        "previous checkpoint). decided on: the figures the promotion rule compared (all held-out texts, or the\n"
        "reviewed ones). seconds: reviews, retrain and measuring since the previous checkpoint."
    )
    targets = []
    for row in rows:
        if row.reviews >= 300:
            targets.append(f"{row.reviews}: {'met' if row.app >= row.anchor - 0.005 else 'MISSED'} (within 0.005)")
        elif row.reviews <= SMALL:
            targets.append(f"{row.reviews}: {'met' if row.app > row.anchor else 'MISSED'} (ahead)")
    if targets:
        print()
        print("Targets, this stream order: " + "; ".join(targets) + ".")


def print_orders(rows: list[Row], small: list[int], orders: int) -> None:
    """The small checkpoints over every stream order, and their means (what the targets at 10 and 30 judge)."""
    print(f"Stream orders 0 to {orders - 1} (order 0 is the table above), the first {max(small)} reviews:")
    print()
    print("| reviews | order | trained on | app | anchor | app - anchor | anchor 4/5 | promoted |")
    print("|---:|---:|---:|---:|---:|---:|---:|:--|")
    verdicts = []
    for checkpoint in small:
        chosen = [row for row in rows if row.reviews == checkpoint]
        for row in chosen:
            print(
                f"| {checkpoint} | {row.order} | {row.trained_on} | {row.app:.3f} | {row.anchor:.3f} "
                f"| {row.app - row.anchor:+.3f} | {row.anchor_train_part:.3f} | {'yes' if row.promoted else 'no'} |"
            )
        app = statistics.fmean(row.app for row in chosen)
        anchor = statistics.fmean(row.anchor for row in chosen)
        ahead = sum(row.app > row.anchor for row in chosen)
        print(f"| {checkpoint} | mean | | **{app:.3f}** | **{anchor:.3f}** | **{app - anchor:+.3f}** | | |")
        verdicts.append(
            f"{checkpoint}: {'met' if app > anchor else 'MISSED'} (mean {app:.3f} against {anchor:.3f}; "
            f"ahead in {ahead} of {len(chosen)} orders)"
        )
    print()
    print("Targets over the orders (ahead on average): " + "; ".join(verdicts) + ".")
