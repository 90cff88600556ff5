"""Synthetic back-office documents for the search benchmark, made up by our own code from a seed.

Nothing here is a real company, person or document. The texts imitate what text extraction
yields from the paperwork of a small tea, coffee and packaging wholesaler: invoices, credit
notes, purchase orders, delivery notes, receipts, price lists, contracts, certificates,
letters and e-mails, and odds and ends (minutes, packing lists, memos). Each has the layout of
its kind (a letterhead, reference numbers, dates, item lines with quantities and amounts,
totals, payment terms, a signature) and a body of running text.

What matters for search is the distribution of words, so that is modelled on purpose:

- Running text draws content words from a ranked vocabulary of about 40,000 words with a
  Zipf-Mandelbrot law (the word of rank r is drawn with weight 1 / (r + 2.7)): a few hundred
  real back-office words at the top, then products, places and people's names, then made-up
  words standing in for the long tail of brand names, surnames, street names and jargon that
  real paperwork has. Function words ("the", "of", "our", "please" …) are mixed in at about
  the share they have in English, and the analyzer drops some of them (its stop words).
- The layouts add the words every document of a kind repeats (invoice, total, VAT, delivery,
  pallets, regards …). Together, some dozens of words end up in a quarter or more of all
  documents, while most of the vocabulary occurs in a handful.
- Reference numbers, customer numbers, IBANs and amounts give each document its own rare
  tokens, as real documents have.
- Documents are 150-600 words long, depending on their kind (a receipt is short, a contract
  or a price list long).

`document(n)` depends only on the corpus seed and n, so the 100,000th document is the same
whether 5,000 or 100,000 are made. `uploaded_at` is spread over the year before `END`.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cached_property
from itertools import accumulate

import numpy as np

END = datetime(2025, 1, 1, tzinfo=UTC)  # documents are uploaded in the 365 days before this
DAYS = 365
VOCABULARY_SIZE = 40_000
ZIPF_SHIFT = 2.7  # Mandelbrot's q: flattens the very top a little, as in real text
ZIPF_EXPONENT = 1.0
FUNCTION_SHARE = 0.42  # share of running-text words that are function words
VOCABULARY_SEED = 20_240_611  # the vocabulary is the same for every corpus seed

# (category, share of all documents, shortest and longest length in words)
KINDS: tuple[tuple[str, float, int, int], ...] = (
    ("invoice", 0.24, 180, 450),
    ("delivery note", 0.16, 160, 380),
    ("purchase order", 0.11, 170, 400),
    ("correspondence", 0.13, 150, 450),
    ("receipt", 0.08, 150, 240),
    ("credit note", 0.05, 160, 360),
    ("price list", 0.05, 300, 600),
    ("contract", 0.04, 400, 600),
    ("certificate", 0.04, 150, 320),
    ("other", 0.10, 150, 420),
)

# ---------------------------------------------------------------- words


def _words(text: str) -> list[str]:
    return text.split()


# Function words with rough relative frequencies (English running text, business register).
_FUNCTION = (
    ("the", 60), ("of", 30), ("and", 28), ("to", 27), ("a", 20), ("in", 18), ("for", 14), ("is", 10),
    ("on", 9), ("that", 8), ("with", 8), ("we", 8), ("our", 7), ("your", 7), ("you", 7), ("be", 6),
    ("as", 6), ("at", 6), ("by", 5), ("this", 5), ("will", 5), ("are", 5), ("please", 4), ("from", 4),
    ("has", 4), ("have", 4), ("was", 4), ("been", 3), ("all", 3), ("any", 3), ("per", 3), ("or", 3),
    ("which", 2), ("after", 2), ("before", 2), ("also", 2), ("these", 2), ("would", 2), ("can", 2),
    ("not", 2), ("its", 2), ("their", 2), ("they", 2), ("under", 1), ("until", 1), ("within", 1),
    ("other", 1), ("such", 1), ("only", 1), ("into", 1), ("may", 1), ("should", 1), ("if", 1),
)  # fmt: skip

# Real back-office words, roughly most frequent first: the head of the Zipf ranking.
_CORE = _words(
    """
order delivery invoice payment goods price total date account customer supplier tea coffee number
quantity amount stock week month item items shipment carton cartons pallet pallets warehouse
product products terms days due received send sent attached confirm confirmation reference
service quality box boxes bag bags unit units net gross weight kg package packaging paper cups
invoice balance credit note transfer bank contact office team thank thanks regards dear kind
following request details information address phone email today tomorrow monday tuesday
wednesday thursday friday new current previous next year time change changes price prices
discount agreed agreement contract season sample samples green black herbal loose leaf ground
beans roast espresso filter blend origin organic fair trade certificate label labels lot batch
expiry best storage dry cool store shelf shop café restaurant hotel bakery deli catering customer
customers supplier suppliers transport carrier freight collection collect dispatch dispatched
shipped arrive arrival arrived expected delayed delay sorry apologise inconvenience issue problem
damaged damage missing short shortage returned return returns replacement refund reason check
checked checking stocktake inventory count counted level levels minimum reorder purchase buyer
sales manager accounts department director assistant colleague meeting call discuss discussed
proposal offer quote quotation valid validity period conditions condition general applicable law
party parties clause term termination notice written renewal renew annual monthly quarterly
schedule deadline urgent priority standard express courier tracking reference code codes
document documents copy copies original signed signature stamp approval approved approve review
reviewed audit inspection inspector inspected result results test tests laboratory analysis
residue pesticide moisture content grade grades quality control food safety hygiene allergen
allergens ingredients declaration compliance regulation regulations standard standards register
registered company limited vat tax rate rates excluding including inclusive exclusive subtotal
charge charges fee fees cost costs costing budget forecast plan planning volume volumes capacity
space storage rack racks aisle bay location dock loading unloading forklift driver truck van
container import export customs duty duties clearance broker port harbour rail road route
kilo gram litre metre dozen case cases crate crates bundle bundles roll rolls sheet sheets tin
tins jar jars pouch pouches sachet sachets capsule capsules pod pods lid lids sleeve sleeves
straw straws napkin napkins tray trays spoon stirrer stirrers cup mug mugs glass glasses pot pots
kettle grinder machine machines spare part parts repair maintenance engineer visit visited
install installation training manual warranty guarantee defect defective fault faulty claim
claims insurance policy premium cover covered renewal broker risk loss incident report reports
record records file filed folder archive archived system portal online website login password
update updated version list lists sheet spreadsheet summary overview figures statement statements
reminder overdue outstanding settle settled settlement remittance advice paid unpaid partial
instalment deposit advance prepayment receipt receipts cash card debit direct standing mandate
iban bic swift sort routing branch holder beneficiary currency euro euros pound pounds dollar
exchange conversion fixed variable margin markup wholesale retail trade trader trading market
"""
)

_PRODUCT_WORDS = _words(
    """
assam darjeeling ceylon sencha matcha gunpowder jasmine oolong rooibos chamomile peppermint
earl grey breakfast lapsang souchong pekoe orange broken fannings dust tippy golden first flush
second autumnal nilgiri kenya yunnan keemun pu erh genmaicha hojicha bancha kukicha white silver
needle peony chai masala lemongrass hibiscus rosehip ginger lemon cinnamon cardamom vanilla
caramel hazelnut chocolate cocoa arabica robusta colombia brazil ethiopia sidamo yirgacheffe
guatemala honduras peru sumatra java sulawesi kenya tanzania uganda rwanda burundi costa rica
decaf decaffeinated swiss water washed natural honey processed medium dark light single estate
cold brew instant soluble pods compostable biodegradable kraft recycled cardboard corrugated
glassine foil valve zip stand-up flat bottom gusset tin-tie window matte gloss printed plain
double wall ripple single sleeve lid sip dome flat stirrer wooden bamboo birch paper straws
porcelain stoneware earthenware teapot infuser strainer filter bags pyramid string tag envelope
"""
)

_PLACES = _words(
    """
london bristol manchester leeds glasgow edinburgh cardiff belfast liverpool birmingham hamburg
bremen berlin munich cologne frankfurt stuttgart leipzig dresden düsseldorf hanover vienna zurich
basel geneva bern lyon marseille bordeaux paris lille nantes toulouse madrid barcelona valencia
seville bilbao malaga lisbon porto rotterdam amsterdam antwerp brussels ghent copenhagen aarhus
malmö gothenburg stockholm oslo helsinki gdańsk łódź kraków warsaw prague brno milan turin genoa
naples trieste felixstowe southampton tilbury immingham dover calais le havre valencia algeciras
colombo mombasa kolkata chittagong shanghai ningbo qingdao yokohama santos cartagena callao
"""
)

_FIRST_NAMES = _words(
    """
anna jürgen renée françois josé zoë łukasz søren inés chloé björn siobhán priya tom sarah mehmet
lucía hélène günter małgorzata ángel noémie oliver fatima dmitri katarzyna raúl émile greta hannah
james emma liam olivia lars ingrid pierre camille javier carmen marco giulia piotr agnieszka ahmed
yusuf aisha kwame amara hiroshi yuki wei mei rahul ananya david rachel michael laura stefan julia
"""
)

_SURNAMES = _words(
    """
müller weiß groß schröder köhler lefèvre dubois côté núñez garcía muñoz peña smith patel o'brien
jones kowalski wróbel nyström rossi brandão fernández şahin dvořák okafor hughes lindqvist becker
moreau schmidt fischer wagner hoffmann schulz koch richter klein wolf neumann schwarz zimmermann
braun krüger hartmann lange werner krause lehmann martin bernard durand laurent simon michel
leroy roux fontaine rodríguez martínez sánchez pérez gómez díaz romero navarro torres ruiz
taylor brown wilson evans thomas johnson roberts walker wright robinson thompson white harris
"""
)

_SYLLABLES_START = _words("b br c ch d dr f g gr h k l m n p pr r s st t tr v w z")
_SYLLABLES_VOWEL = _words("a e i o u a e i o u a e o au ei ie ou ä ö ü é")
_SYLLABLES_END = _words("n r l s t nd rt st ck m ng ll x") + [""] * 8
_SUFFIXES = [""] * 14 + _words("er ing en ia ton berg ley dorf mann ski ez")

# Boilerplate phrases that recur across documents (several become common phrases in the index).
PHRASES = (
    "payment terms",
    "delivery note",
    "purchase order",
    "kind regards",
    "bank transfer",
    "net 30 days",
    "delivery address",
    "invoice number",
    "best before",
    "received in good condition",
    "price list",
    "credit note",
    "customer number",
    "order confirmation",
    "gross weight",
    "terms and conditions",
)


def _made_up_word(rng: random.Random) -> str:
    """A pronounceable word of one to three syllables (a surname, a brand, a place, a bit of jargon)."""
    syllables = rng.choice((1, 2, 2, 2, 3))
    parts = []
    for _ in range(syllables):
        parts += [rng.choice(_SYLLABLES_START), rng.choice(_SYLLABLES_VOWEL), rng.choice(_SYLLABLES_END)]
    return "".join(parts) + rng.choice(_SUFFIXES)


def build_vocabulary(size: int = VOCABULARY_SIZE) -> list[str]:
    """The ranked content vocabulary: real words first, then names and places, then made-up words."""
    ranked: list[str] = []
    seen: set[str] = set()
    for word in [*_CORE, *_PRODUCT_WORDS, *_PLACES, *_SURNAMES, *_FIRST_NAMES]:
        if word not in seen and word not in dict(_FUNCTION):
            seen.add(word)
            ranked.append(word)
    # Interleave a little: product words and names are not all rarer than every core word.
    rng = random.Random(VOCABULARY_SEED)
    head, rest = ranked[:120], ranked[120:]
    rng.shuffle(rest)
    ranked = head + rest
    while len(ranked) < size:
        word = _made_up_word(rng)
        if len(word) >= 4 and word not in seen:
            seen.add(word)
            ranked.append(word)
    return ranked[:size]


# ---------------------------------------------------------------- a document


@dataclass(frozen=True)
class GeneratedDocument:
    number: int
    filename: str
    text: str
    category: str  # one of the default categories (`app.classify.categories.DEFAULT_CATEGORIES`)
    kind: str  # "pdf" or "image"
    mime: str
    uploaded_at: datetime

    @property
    def words(self) -> int:
        return len(self.text.split())


class Corpus:
    """Documents made from a seed: `document(n)` for one, `documents(count)` for the first `count`.

    `long=True` makes each document a real-length PDF's worth of text: the same document, continued
    by pages of running text (each under a "Page k" heading, as text extraction yields them) until it
    holds 10-100 KB, spread evenly on a log scale (most real PDFs are a few pages, some are fifty).
    """

    LONG_CHARS = (10_000, 100_000)

    def __init__(self, seed: int = 1, *, long: bool = False) -> None:
        self.seed = seed
        self.long = long
        self._arrays: tuple[np.ndarray, ...] | None = None
        self.vocabulary = build_vocabulary()
        self._cumulative = list(
            accumulate(1.0 / (rank + ZIPF_SHIFT) ** ZIPF_EXPONENT for rank in range(1, len(self.vocabulary) + 1))
        )
        self._function_words = [word for word, _ in _FUNCTION]
        self._function_cumulative = list(accumulate(weight for _, weight in _FUNCTION))
        self._kinds = [kind for kind, *_ in KINDS]
        self._kind_cumulative = list(accumulate(share for _, share, *_ in KINDS))
        firm_rng = random.Random(VOCABULARY_SEED + 1)
        self.firms = [self._firm_name(firm_rng) for _ in range(400)]
        self.products = self._catalogue(random.Random(VOCABULARY_SEED + 2), 600)

    # ------------------------------------------------------------ the world

    def _firm_name(self, rng: random.Random) -> str:
        trade = rng.choice(
            ("Tea Trading", "Coffee Roasters", "Teehandel", "Kaffeerösterei", "Packaging", "Verpackungen",
             "Emballages", "Fine Foods", "Catering Supplies", "Paper Goods", "Import Export", "Café", "Deli",
             "Hotel", "Bakery", "Logistics", "Freight", "Cold Store", "Porcelain", "Tea Rooms")
        )  # fmt: skip
        form = rng.choice(("Ltd", "GmbH", "KG", "SARL", "S.L.", "AB", "ApS", "LLP", "& Co.", "e.K.", "Ltd", "GmbH"))
        name = rng.choice(_SURNAMES + _PLACES).title() if rng.random() < 0.6 else _made_up_word(rng).title()
        return f"{name} {trade} {form}"

    def _catalogue(self, rng: random.Random, size: int) -> list[tuple[str, float]]:
        teas = (
            "Assam",
            "Darjeeling",
            "Ceylon",
            "Sencha",
            "Jasmine",
            "Oolong",
            "Rooibos",
            "Earl Grey",
            "Chamomile",
            "Peppermint",
            "English Breakfast",
            "Lapsang Souchong",
            "Gunpowder",
            "Matcha",
            "Chai",
            "Nilgiri",
        )
        coffees = (
            "Colombia",
            "Brazil",
            "Ethiopia Sidamo",
            "Guatemala",
            "Honduras",
            "Peru",
            "Sumatra",
            "Kenya",
            "Espresso Blend",
            "House Blend",
            "Decaf Swiss Water",
            "Costa Rica",
            "Rwanda",
            "Java",
        )
        packaging = (
            "Paper cups",
            "Double wall cups",
            "Ripple cups",
            "Sip lids",
            "Dome lids",
            "Kraft bags",
            "Stand-up pouches",
            "Flat bottom bags",
            "Tin-tie bags",
            "Wooden stirrers",
            "Paper straws",
            "Napkins",
            "Cup carriers",
            "Tea filter bags",
            "Pyramid bags",
            "Gift tins",
            "Glass jars",
        )
        sizes = ("100 g", "250 g", "500 g", "1 kg", "5 kg", "8 oz", "12 oz", "16 oz", "box of 1000", "pack of 50")
        grades = ("FTGFOP1", "TGFOP", "OP", "BOP", "organic", "fair trade", "first flush", "second flush", "", "")
        products = []
        while len(products) < size:
            family = rng.random()
            if family < 0.4:
                name = f"{rng.choice(teas)} {rng.choice(grades)} {rng.choice(('loose leaf', 'tea bags', 'tea'))}"
            elif family < 0.7:
                roast = rng.choice(("light", "medium", "dark", "espresso"))
                name = f"{rng.choice(coffees)} {rng.choice(('beans', 'ground', 'filter'))} {roast} roast"
            else:
                name = f"{rng.choice(packaging)} {rng.choice(('white', 'kraft', 'black', 'printed', 'compostable'))}"
            products.append((" ".join(f"{name} {rng.choice(sizes)}".split()), round(rng.uniform(0.8, 180.0), 2)))
        return products

    # ------------------------------------------------------------ words and sentences

    def _running_text(self, rng: random.Random, words: int) -> list[str]:
        """Sentences of 6-20 words: content words by the Zipf law, function words mixed in."""
        content = rng.choices(self.vocabulary, cum_weights=self._cumulative, k=words)
        functions = rng.choices(self._function_words, cum_weights=self._function_cumulative, k=words)
        sentences, sentence = [], []
        length = rng.randint(6, 20)
        for i in range(words):
            word = functions[i] if rng.random() < FUNCTION_SHARE else content[i]
            sentence.append(word)
            if len(sentence) >= length:
                sentences.append(self._sentence(sentence))
                sentence, length = [], rng.randint(6, 20)
        if sentence:
            sentences.append(self._sentence(sentence))
        return sentences

    @staticmethod
    def _sentence(words: list[str]) -> str:
        return " ".join(words)[:1].upper() + " ".join(words)[1:] + "."

    @staticmethod
    def _date(rng: random.Random, day: datetime) -> str:
        style = rng.randrange(4)
        if style == 0:
            return day.strftime("%d.%m.%Y")
        if style == 1:
            return day.strftime("%Y-%m-%d")
        if style == 2:
            return f"{day.day} {day.strftime('%B %Y')}"
        return f"{day.strftime('%B')} {day.day}, {day.year}"

    @staticmethod
    def _money(value: float) -> str:
        return f"{value:,.2f}"

    def _letterhead(self, rng: random.Random, firm: str) -> list[str]:
        slug = "".join(ch for ch in firm.split()[0].lower() if ch.isalnum()) or "firm"
        city = rng.choice(_PLACES).title()
        street = rng.choice(self.vocabulary[300:6000]).title()
        return [
            firm,
            f"{street} {rng.choice(('Street', 'Road', 'Lane', 'straße', 'Weg', 'rue', 'Calle'))} {rng.randint(1, 240)}",
            f"{rng.randint(10000, 99999)} {city}",
            f"Tel. +{rng.randint(30, 49)} {rng.randint(10, 999)} {rng.randint(100000, 9999999)} · "
            f"{rng.choice(('accounts', 'orders', 'info', 'sales', 'office'))}@{slug}.example",
            f"VAT reg. no. {rng.choice(('GB', 'DE', 'FR', 'ES', 'NL', 'DK'))}{rng.randint(100000000, 999999999)}",
        ]

    def _items(self, rng: random.Random, count: int, *, prices: bool = True) -> tuple[list[str], float]:
        lines, total = ["Pos. Qty Description Unit price Amount" if prices else "Pos. Qty Description Lot"], 0.0
        for position in range(1, count + 1):
            name, price = rng.choice(self.products)
            quantity = rng.choice((1, 2, 3, 4, 5, 6, 10, 12, 20, 24, 48, 50, 100))
            if prices:
                amount = quantity * price
                total += amount
                lines.append(f"{position} {quantity} x {name} {self._money(price)} {self._money(amount)}")
            else:
                lines.append(f"{position} {quantity} {name} L{rng.randint(10000, 99999)}")
        return lines, total

    def _totals(self, rng: random.Random, net: float) -> list[str]:
        rate = rng.choice((7, 19, 20, 20, 21))
        vat = net * rate / 100
        currency = rng.choice(("EUR", "EUR", "GBP"))
        return [
            f"Subtotal {self._money(net)} {currency}",
            f"VAT {rate}% {self._money(vat)}",
            f"Total due {self._money(net + vat)} {currency}",
        ]

    def _bank(self, rng: random.Random) -> str:
        iban = f"{rng.choice(('GB', 'DE', 'FR', 'NL'))}{rng.randint(10, 99)} {rng.randint(1000, 9999)} " + " ".join(
            str(rng.randint(1000, 9999)) for _ in range(4)
        )
        bank = rng.choice(self.vocabulary[200:3000]).title()
        return f"Bank: {bank} Bank · IBAN {iban} · BIC {rng.choice(_SURNAMES)[:4].upper()}XX"

    def _person(self, rng: random.Random) -> str:
        return f"{rng.choice(_FIRST_NAMES).title()} {rng.choice(_SURNAMES).title()}"

    # ------------------------------------------------------------ the kinds

    def _invoice(self, rng, n, day, credit=False):
        firm, customer = rng.sample(self.firms, 2)
        prefix = "CN" if credit else "INV"
        number = f"{prefix}-{day.year}-{rng.randint(1, 99999):05d}"
        lines = self._letterhead(rng, firm)
        lines += ["", "CREDIT NOTE" if credit else "INVOICE", f"{'Credit note' if credit else 'Invoice'} no.: {number}"]
        lines += [f"Date: {self._date(rng, day)}", f"Customer number: C{rng.randint(10000, 99999)}"]
        if credit:
            lines.append(f"Against invoice number INV-{day.year}-{rng.randint(1, 99999):05d}")
            lines.append(
                "Reason: "
                + rng.choice(("goods damaged in transit", "short delivery", "price difference", "returned goods"))
            )
        else:
            lines.append(f"Your purchase order PO-{rng.randint(100000, 999999)} of {self._date(rng, day)}")
        lines += ["", "Bill to:", customer, f"{rng.randint(10000, 99999)} {rng.choice(_PLACES).title()}", ""]
        items, net = self._items(rng, rng.randint(2, 9))
        lines += items + self._totals(rng, net)
        lines += [
            "Payment terms: net 30 days from the invoice date. Please quote the invoice number with your payment.",
            "Payment by bank transfer to:",
            self._bank(rng),
        ]
        return lines, f"{number}.pdf" if rng.random() < 0.5 else f"{'credit' if credit else 'invoice'}_{n}.pdf"

    def _delivery_note(self, rng, n, day):
        firm, customer = rng.sample(self.firms, 2)
        number = f"DN-{rng.randint(100000, 999999)}"
        lines = self._letterhead(rng, firm)
        lines += ["", "DELIVERY NOTE", f"Delivery note no. {number}", f"Date: {self._date(rng, day)}"]
        lines += [f"Order ref. PO-{rng.randint(100000, 999999)}", "Delivery address:", customer]
        lines += [f"Carrier: {rng.choice(self.firms)}", ""]
        items, _ = self._items(rng, rng.randint(2, 10), prices=False)
        lines += items
        lines += [
            "Lot numbers and best before dates as labelled on each carton.",
            f"Pallets: {rng.randint(1, 12)} Cartons: {rng.randint(4, 240)} Gross weight: {rng.randint(20, 4000)} kg",
            "Goods received in good condition. Signature: ______ Name: " + self._person(rng),
        ]
        return lines, rng.choice((f"{number}.pdf", f"delivery-note-{n}.pdf", f"scan_{n:06d}.pdf"))

    def _purchase_order(self, rng, n, day):
        firm, supplier = rng.sample(self.firms, 2)
        number = f"PO-{rng.randint(100000, 999999)}"
        lines = self._letterhead(rng, firm)
        lines += ["", "PURCHASE ORDER", f"Order no. {number}", f"Order date: {self._date(rng, day)}"]
        lines += [f"Supplier: {supplier}", f"Requested delivery date: {self._date(rng, day + timedelta(days=14))}", ""]
        items, net = self._items(rng, rng.randint(2, 8))
        lines += [*items, f"Order total {self._money(net)} EUR excluding VAT"]
        lines += ["Please send an order confirmation and deliver to the delivery address above."]
        return lines, rng.choice((f"{number}.pdf", f"order_{n}.pdf"))

    def _receipt(self, rng, n, day):
        shop = rng.choice(self.firms)
        lines = [
            shop,
            f"{rng.choice(_PLACES).title()}",
            "RECEIPT",
            f"{self._date(rng, day)} {rng.randint(7, 19)}:{rng.randint(10, 59)}",
        ]
        items, net = self._items(rng, rng.randint(1, 5))
        lines += items[1:] + self._totals(rng, net)
        lines += [
            f"Card payment {rng.choice(('VISA', 'Mastercard', 'debit card'))} ****{rng.randint(1000, 9999)}",
            f"Receipt no. {rng.randint(1000000, 9999999)}",
            "Thank you for your visit.",
        ]
        return lines, rng.choice((f"receipt-{n}.pdf", f"IMG_{n % 10000:04d}.jpg", f"Beleg_{n}.pdf"))

    def _price_list(self, rng, n, day):
        firm = rng.choice(self.firms)
        season = rng.choice(("Spring", "Summer", "Autumn", "Winter"))
        lines = self._letterhead(rng, firm)
        lines += ["", f"PRICE LIST {season} {day.year}", f"Valid from {self._date(rng, day)}", ""]
        lines.append("Item Pack Price 1+ Price 10+ Price 50+")
        for _ in range(rng.randint(14, 30)):
            name, price = rng.choice(self.products)
            lines.append(f"{name} {self._money(price)} {self._money(price * 0.95)} {self._money(price * 0.9)}")
        lines.append("All prices net plus VAT. Minimum order 150.00 EUR. Subject to our terms and conditions.")
        return lines, rng.choice((f"price-list-{season.lower()}-{day.year}.pdf", f"pricelist_{n}.pdf"))

    def _contract(self, rng, n, day):
        firm, other = rng.sample(self.firms, 2)
        title = rng.choice(("SUPPLY AGREEMENT", "SERVICE AGREEMENT", "LEASE OF WAREHOUSE SPACE", "FRAMEWORK CONTRACT"))
        lines = [title, f"between {firm} and {other}", f"dated {self._date(rng, day)}", ""]
        for clause, heading in enumerate(
            ("Subject of the agreement", "Prices and payment terms", "Delivery", "Term and termination",
             "Liability", "Confidentiality", "Governing law"), start=1
        ):  # fmt: skip
            lines.append(f"{clause}. {heading}")
            lines += self._running_text(rng, rng.randint(25, 45))
        lines += ["Signed for and on behalf of the parties:", self._person(rng), self._person(rng)]
        return lines, rng.choice((f"contract-{n}.pdf", f"agreement_{other.split()[0].lower()}.pdf"))

    def _certificate(self, rng, n, day):
        body = rng.choice(("Organic certification", "Food safety certificate", "Certificate of insurance",
                           "Certificate of analysis", "Fair trade certificate"))  # fmt: skip
        lines = [
            "CERTIFICATE",
            body,
            f"Certificate no. {rng.choice(('DE-OKO', 'GB-ORG', 'FS', 'CA'))}-{rng.randint(100, 999)}"
            f"-{rng.randint(1000, 9999)}",
        ]
        lines += [f"Holder: {rng.choice(self.firms)}", f"Issued {self._date(rng, day)}"]
        lines += [f"Valid until {self._date(rng, day + timedelta(days=365))}", "Scope:"]
        lines += [name for name, _ in rng.sample(self.products, rng.randint(2, 6))]
        lines += [f"Inspection body: {rng.choice(self.firms)}", "Inspector: " + self._person(rng)]
        return lines, rng.choice((f"certificate-{n}.pdf", f"cert_{day.year}_{n}.pdf", f"scan_{n:06d}.pdf"))

    def _letter(self, rng, n, day):
        firm = rng.choice(self.firms)
        sender, recipient = self._person(rng), self._person(rng)
        if rng.random() < 0.5:
            lines = [*self._letterhead(rng, firm), "", recipient, self._date(rng, day)]
        else:
            lines = [f"From: {sender}", f"To: {recipient}", f"Sent: {self._date(rng, day)}"]
        topic = rng.choice(("your order", "invoice number", "late delivery", "price list", "new contract",
                            "the sample", "payment reminder", "damaged goods", "our visit"))  # fmt: skip
        lines += [f"Subject: {topic} {rng.randint(1000, 99999)}", "", f"Dear {recipient.split()[0]},"]
        return lines, rng.choice((f"letter-{n}.pdf", f"email_{n}.pdf", f"scan_{n:06d}.pdf"))

    def _other(self, rng, n, day):
        title = rng.choice(("Minutes of the meeting", "Packing list", "Memo", "Timesheet", "Stocktake sheet",
                            "Visit report", "Complaint form", "Returns form"))  # fmt: skip
        lines = [title.upper(), f"Date: {self._date(rng, day)}", f"Prepared by {self._person(rng)}", ""]
        if title in ("Packing list", "Stocktake sheet", "Returns form"):
            items, _ = self._items(rng, rng.randint(4, 12), prices=False)
            lines += items
        return lines, rng.choice((f"{title.lower().replace(' ', '-')}-{n}.pdf", f"scan_{n:06d}.pdf", f"doc{n}.pdf"))

    # ------------------------------------------------------------ the public part

    @cached_property
    def _makers(self):
        return {
            "invoice": self._invoice,
            "credit note": lambda rng, n, day: self._invoice(rng, n, day, credit=True),
            "delivery note": self._delivery_note,
            "purchase order": self._purchase_order,
            "receipt": self._receipt,
            "price list": self._price_list,
            "contract": self._contract,
            "certificate": self._certificate,
            "correspondence": self._letter,
            "other": self._other,
        }

    def document(self, n: int) -> GeneratedDocument:
        """Document number n (0, 1, 2 …) of this corpus, the same every time."""
        rng = random.Random(self.seed * 1_000_003 + n)
        category = rng.choices(self._kinds, cum_weights=self._kind_cumulative)[0]
        _, _, shortest, longest = KINDS[self._kinds.index(category)]
        uploaded_at = END - timedelta(seconds=rng.uniform(0, DAYS * 86_400))
        written = (uploaded_at - timedelta(days=rng.randint(0, 10))).replace(tzinfo=None)
        lines, filename = self._makers[category](rng, n, written)
        target = rng.randint(shortest, longest)
        have = sum(len(line.split()) for line in lines)
        if have < target:  # the body: running text, in paragraphs, then the closing
            sentences = self._running_text(rng, target - have)
            paragraph: list[str] = []
            for sentence in sentences:
                paragraph.append(sentence)
                if len(paragraph) >= rng.randint(2, 5):
                    lines += ["", " ".join(paragraph)]
                    paragraph = []
            if paragraph:
                lines += ["", " ".join(paragraph)]
        if category == "correspondence":
            lines += ["", rng.choice(("Kind regards,", "Best regards,", "Yours sincerely,")), self._person(rng)]
        kept, words = [], 0
        for line in lines:  # a long item list or layout: cut at the word limit, as a page would end
            size = len(line.split())
            if words + size > longest:
                kept.append(" ".join(line.split()[: longest - words]))
                break
            kept.append(line)
            words += size
        text = "\n".join(kept)
        if self.long:
            text = self._continued(text, n)
        image = filename.endswith(".jpg")
        return GeneratedDocument(
            number=n,
            filename=filename,
            text=text,
            category=category,
            kind="image" if image else "pdf",
            mime="image/jpeg" if image else "application/pdf",
            uploaded_at=uploaded_at,
        )

    def _continued(self, text: str, n: int) -> str:
        """`text` followed by pages of running text until it reaches its drawn length (its own random stream)."""
        rng = np.random.default_rng([self.seed, n, 7_777])
        low, high = self.LONG_CHARS
        target = round(math.exp(rng.uniform(math.log(low), math.log(high))))
        pages, size, page = [text], len(text), 1
        while size < target:
            page += 1
            body = self._page_of_text(rng, int(rng.integers(350, 500)))
            pages.append(f"Page {page}\n{body}")
            size += len(body) + 8
        return "\n\n".join(pages)[: max(target, len(text))]

    def _page_of_text(self, rng: np.random.Generator, words: int) -> str:
        """`_running_text`'s law drawn with numpy (a hundred times faster, for the long documents' pages)."""
        if self._arrays is None:
            self._arrays = (
                np.array(self.vocabulary, dtype=object),
                np.array(self._cumulative) / self._cumulative[-1],
                np.array(self._function_words, dtype=object),
                np.array(self._function_cumulative) / self._function_cumulative[-1],
            )
        vocabulary, cumulative, function_words, function_cumulative = self._arrays
        content = vocabulary[np.searchsorted(cumulative, rng.random(words), side="right").clip(max=len(vocabulary) - 1)]
        functions = function_words[
            np.searchsorted(function_cumulative, rng.random(words), side="right").clip(max=len(function_words) - 1)
        ]
        drawn = np.where(rng.random(words) < FUNCTION_SHARE, functions, content).tolist()
        sentences, start = [], 0
        while start < words:
            length = int(rng.integers(6, 21))
            sentences.append(self._sentence(drawn[start : start + length]))
            start += length
        return " ".join(sentences)

    def documents(self, count: int, start: int = 0) -> Iterator[GeneratedDocument]:
        for n in range(start, start + count):
            yield self.document(n)

    def sample_phrases(self, rng: random.Random, documents: int, count: int) -> list[str]:
        """Two consecutive content words from the running text of random documents among the first `documents`."""
        function_words = set(self._function_words)
        phrases: list[str] = []
        while len(phrases) < count:
            words = self.document(rng.randrange(documents)).text.split()
            for _ in range(20):
                i = rng.randrange(len(words) - 1)
                pair = [w.strip(".,:;") for w in words[i : i + 2]]
                if all(w.isalpha() and w.lower() not in function_words and len(w) > 2 for w in pair):
                    phrases.append(" ".join(w.lower() for w in pair))
                    break
        return phrases
