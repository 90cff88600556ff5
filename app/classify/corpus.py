"""A synthetic, labelled training corpus for the document categories, made up by our own code.

Nothing here is a real document, company or person: every text is generated from the word lists
and layouts in this module, deterministically from a seed, to train the bootstrap model before
people have reviewed any real documents (and to test training end to end). The texts imitate
what the text extraction of a small tea, coffee and packaging wholesaler's paperwork yields:
several layouts and wordings per category, English with German, French and Spanish documents and
accented names, amounts and dates in several formats, reference numbers, addresses, page headers
and footers, and OCR damage (0/O, 1/l, rn/m, lost spaces, broken lines, lines out of order).

The categories share most of their words on purpose (an invoice, a credit note, a receipt and a
purchase order all have numbers, dates, items and totals; a payment reminder is a letter about an
invoice; some documents are only a line or two long), so a model trained on it is good but not
perfect, like one trained on real paperwork. It must not be mistaken for evidence of how well a
model does on real documents: only people's reviews can say that.

`generate` makes the corpus and `split` divides it into training and test parts per category.
One piece: it is one seeded generator. The word lists, layouts and damage below draw from one random
sequence in a fixed order, so the same seed gives the same texts (and the same held-out set for every
model version); most of its length is word lists, not logic.
"""

from __future__ import annotations

import random
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import TypeVar

CATEGORIES: tuple[str, ...] = (
    "invoice",
    "credit note",
    "purchase order",
    "delivery note",
    "receipt",
    "price list",
    "contract",
    "certificate",
    "correspondence",
    "other",
)


@dataclass(frozen=True)
class LabelledText:
    text: str
    category: str


# ---------------------------------------------------------------- the world the documents come from

_FIRST = (
    "Anna", "Jürgen", "Renée", "François", "José", "Zoë", "Łukasz", "Søren", "Inés", "Chloé", "Björn",
    "Siobhán", "Priya", "Tom", "Sarah", "Mehmet", "Lucía", "Hélène", "Günter", "Małgorzata", "Ángel",
    "Noémie", "Oliver", "Fatima", "Dmitri", "Katarzyna", "Raúl", "Émile", "Greta", "Hannah",
)  # fmt: skip
_LAST = (
    "Müller", "Weiß", "Groß", "Schröder", "Köhler", "Lefèvre", "Dubois", "Côté", "Núñez", "García",
    "Muñoz", "Peña", "Smith", "Patel", "O'Brien", "Jones", "Kowalski", "Wróbel", "Nyström", "Rossi",
    "Brandão", "Æbelø", "Fernández", "Şahin", "Dvořák", "Okafor", "Hughes", "Lindqvist", "Becker", "Moreau",
)  # fmt: skip
_TRADES = (
    "Tea Trading", "Coffee Roasters", "Teehandel", "Kaffeerösterei", "Packaging", "Verpackungen",
    "Emballages", "Envases", "Brûlerie", "Tés y Cafés", "Fine Foods", "Catering Supplies", "Porcelain",
    "Paper Goods", "Import Export", "Café", "Salon de thé", "Deli", "Hotel", "Bakery", "Feinkost",
)  # fmt: skip
_FORMS = ("Ltd", "GmbH", "KG", "SARL", "SA", "S.L.", "S.A.", "AB", "ApS", "Sp. z o.o.", "LLP", "& Co.", "e.K.", "")
_FIXED_FIRMS = (
    "Teehaus Müller GmbH", "Brûlerie Lefèvre SARL", "Café La Montaña S.L.", "Green Leaf Tea Ltd",
    "Nordic Cups AB", "Łódź Paper Sp. z o.o.", "Ørsted Porcelæn ApS", "Zürcher Kaffee AG",
    "PackRight Solutions Ltd", "Hanseatische Teehandel GmbH", "Thé & Compagnie", "Envases Ibéricos S.A.",
    "Harbour Hotel Bristol", "The Corner Café", "Bäckerei Köhler", "Épicerie fine Dubois", "Cafetería El Patio",
    "Northgate Deli", "Kaffeehaus Süßes Eck", "Tea Leaf & Co. Wholesale Ltd",
)  # fmt: skip
_STREETS = {
    "uk": ("Mill Lane", "High Street", "Harbour Road", "Station Approach", "Queen's Road", "Unit 4 Riverside Park"),
    "de": ("Hauptstraße", "Große Elbstraße", "Industriestr.", "Am Sandtorkai", "Königsallee", "Lindenweg"),
    "fr": ("rue de la Paix", "avenue Jean-Jaurès", "quai des Chartrons", "rue du Faubourg", "ZI les Épinettes"),
    "es": ("Calle Mayor", "Avenida de la Constitución", "Polígono Industrial Sur", "Calle de Alcalá", "Paseo Colón"),
}
_CITIES = {
    "uk": (("Bristol", "BS1 4DJ"), ("Leeds", "LS2 7EY"), ("London", "E1 6AN"), ("Glasgow", "G1 2FF")),
    "de": (("Hamburg", "20457"), ("München", "80331"), ("Köln", "50667"), ("Düsseldorf", "40213")),
    "fr": (("Paris", "75002"), ("Bordeaux", "33000"), ("Lyon", "69002"), ("Nantes", "44000")),
    "es": (("Madrid", "28013"), ("Sevilla", "41001"), ("Valencia", "46002"), ("Bilbao", "48001")),
}
_COUNTRY = {"uk": "United Kingdom", "de": "Deutschland", "fr": "France", "es": "España"}
_PRODUCTS = (
    ("Assam TGFOP loose tea", "kg", 18), ("Darjeeling First Flush", "kg", 64), ("Earl Grey Supreme", "kg", 29),
    ("Sencha Uji green tea", "kg", 41), ("Rooibos vanilla", "kg", 16), ("Chamomile blossoms", "kg", 22),
    ("Peppermint leaves", "kg", 14), ("Masala chai blend", "kg", 25), ("Jasmine pearls", "kg", 72),
    ("Matcha ceremonial grade 100g", "tin", 19), ("English Breakfast tea bags (100)", "box", 6),
    ("Kräutertee Bergwiese", "kg", 21), ("Thé vert à la menthe", "kg", 23), ("Té rojo Pu-Erh", "kg", 30),
    ("Espresso beans Italian roast", "kg", 15), ("Colombia Supremo beans", "kg", 17),
    ("Ethiopia Yirgacheffe beans", "kg", 24), ("Brazil Santos ground coffee", "kg", 12),
    ("Decaf Swiss Water beans", "kg", 20), ("Café moulu pur arabica", "kg", 14), ("Kaffeebohnen Crema", "kg", 16),
    ("Paper cups 8oz (1000)", "carton", 38), ("Paper cups 12oz double wall (500)", "carton", 44),
    ("Lids for 8oz cups (1000)", "carton", 21), ("Ceramic mugs white 300ml", "pcs", 3),
    ("Glass teapot 1L", "pcs", 11), ("Porcelain cups & saucers", "set", 7), ("Tasses à espresso", "pcs", 2),
    ("Kraft stand-up pouches 250g", "pack", 9), ("Tea caddies tin 100g", "pcs", 2),
    ("Tea filter bags size M (100)", "pack", 3), ("Shipping boxes 40x30x20", "bundle", 12),
    ("Pallet wrap film 500mm", "roll", 8), ("Labels 50x30mm", "roll", 5), ("Zip bags 1kg with valve", "pack", 13),
    ("Bolsas de papel kraft", "pack", 6), ("Cane sugar sticks (1000)", "box", 9), ("Wooden stirrers (1000)", "box", 4),
    ("Oat drink barista 1L", "case", 18), ("Cocoa powder 1kg", "bag", 11), ("Vanilla syrup 700ml", "bottle", 6),
    ("Napkins 2-ply (2000)", "carton", 15),
)  # fmt: skip
_CURRENCY = {"uk": ("£", "GBP"), "de": ("€", "EUR"), "fr": ("€", "EUR"), "es": ("€", "EUR")}

# Words in each language; a document mostly keeps to its own, with a few English ones.
_WORDS: dict[str, dict[str, tuple[str, ...]]] = {
    "date": {"en": ("Date", "Dated", "Date of issue"), "de": ("Datum", "Belegdatum"), "fr": ("Date", "Le"),
             "es": ("Fecha", "Fecha de emisión")},
    "no": {"en": ("No.", "Number", "Ref.", "Reference"), "de": ("Nr.", "Nummer"), "fr": ("N°", "Numéro", "Réf."),
           "es": ("Nº", "Número", "Ref.")},
    "customer": {"en": ("Customer", "Bill to", "Sold to", "Account"), "de": ("Kunde", "Kundennr.", "An"),
                 "fr": ("Client", "Destinataire"), "es": ("Cliente", "Destinatario")},
    "qty": {"en": ("Qty", "Quantity", "Units"), "de": ("Menge", "Anz."), "fr": ("Qté", "Quantité"),
            "es": ("Cant.", "Cantidad")},
    "item": {"en": ("Description", "Item", "Product"), "de": ("Bezeichnung", "Artikel"),
             "fr": ("Désignation", "Article"), "es": ("Descripción", "Artículo")},
    "price": {"en": ("Unit price", "Price", "Rate"), "de": ("Einzelpreis", "E-Preis", "Preis"),
              "fr": ("Prix unitaire", "P.U."), "es": ("Precio unitario", "Precio")},
    "amount": {"en": ("Amount", "Line total", "Total"), "de": ("Betrag", "Gesamt"), "fr": ("Montant", "Total"),
               "es": ("Importe", "Total")},
    "net": {"en": ("Subtotal", "Net", "Net total"), "de": ("Zwischensumme", "Nettobetrag", "Netto"),
            "fr": ("Sous-total", "Total HT"), "es": ("Base imponible", "Subtotal")},
    "vat": {"en": ("VAT 20%", "VAT", "Tax"), "de": ("MwSt. 19%", "USt 7%", "zzgl. MwSt."),
            "fr": ("TVA 20%", "TVA 5,5%"), "es": ("IVA 21%", "IVA 10%")},
    "total": {"en": ("Total", "Total due", "Amount due", "Grand total", "Balance"),
              "de": ("Gesamtbetrag", "Summe", "Endbetrag"), "fr": ("Total TTC", "Net à payer", "Total"),
              "es": ("Total", "Importe total", "Total a pagar")},
    "order": {"en": ("Your order", "Order no.", "Order ref.", "PO number"), "de": ("Ihre Bestellung", "Auftrag Nr."),
              "fr": ("Votre commande", "Commande n°"), "es": ("Su pedido", "Pedido nº")},
    "delivery_to": {"en": ("Deliver to", "Ship to", "Delivery address"), "de": ("Lieferadresse", "Lieferanschrift"),
                    "fr": ("Adresse de livraison", "Livrer à"), "es": ("Dirección de entrega", "Entregar en")},
    "thanks": {"en": ("Thank you for your business.", "Thank you!", "Many thanks."),
               "de": ("Vielen Dank für Ihren Auftrag.", "Danke!"), "fr": ("Merci de votre confiance.", "Merci !"),
               "es": ("Gracias por su confianza.", "¡Gracias!")},
    "regards": {"en": ("Kind regards", "Best regards", "Yours sincerely", "Thanks"),
                "de": ("Mit freundlichen Grüßen", "Viele Grüße"),
                "fr": ("Cordialement", "Bien à vous", "Veuillez agréer nos salutations distinguées"),
                "es": ("Saludos cordiales", "Atentamente", "Un saludo")},
    "dear": {"en": ("Dear {name},", "Hello {name},", "Hi {first},", "Dear Sir or Madam,"),
             "de": ("Sehr geehrte Damen und Herren,", "Hallo {first},", "Sehr geehrte/r {name},"),
             "fr": ("Madame, Monsieur,", "Bonjour {first},", "Cher {name},"),
             "es": ("Estimado/a {name}:", "Hola {first},", "Estimados señores:")},
}  # fmt: skip

_TITLES: dict[str, dict[str, tuple[str, ...]]] = {
    "invoice": {"en": ("INVOICE", "Invoice", "TAX INVOICE", "Sales invoice", "Proforma invoice"),
                "de": ("RECHNUNG", "Rechnung"), "fr": ("FACTURE", "Facture"), "es": ("FACTURA", "Factura")},
    "credit note": {"en": ("CREDIT NOTE", "Credit note", "Credit memo", "CREDIT"), "de": ("GUTSCHRIFT", "Gutschrift"),
                    "fr": ("AVOIR", "Facture d'avoir"), "es": ("NOTA DE CRÉDITO", "Factura rectificativa")},
    "purchase order": {"en": ("PURCHASE ORDER", "Purchase order", "ORDER", "Order confirmation"),
                       "de": ("BESTELLUNG", "Bestellung", "Auftragsbestätigung"),
                       "fr": ("BON DE COMMANDE", "Commande"), "es": ("ORDEN DE COMPRA", "Pedido")},
    "delivery note": {"en": ("DELIVERY NOTE", "Delivery note", "Packing slip", "Dispatch note", "Goods received note"),
                      "de": ("LIEFERSCHEIN", "Lieferschein"), "fr": ("BON DE LIVRAISON", "Bordereau de livraison"),
                      "es": ("ALBARÁN", "Albarán de entrega")},
    "receipt": {"en": ("RECEIPT", "Receipt", "Payment receipt", "Sales receipt"),
                "de": ("Kassenbon", "Quittung", "BELEG"), "fr": ("REÇU", "Ticket de caisse", "Reçu de paiement"),
                "es": ("RECIBO", "Ticket de compra")},
    "price list": {"en": ("PRICE LIST", "Price list", "Trade prices", "Wholesale tariff"),
                   "de": ("PREISLISTE", "Preisliste"), "fr": ("TARIFS", "Liste de prix"),
                   "es": ("LISTA DE PRECIOS", "Tarifa")},
    "contract": {"en": ("SUPPLY AGREEMENT", "Distribution agreement", "Lease agreement", "Service contract",
                        "Framework agreement"),
                 "de": ("RAHMENVERTRAG", "Liefervertrag", "Mietvertrag"),
                 "fr": ("CONTRAT DE FOURNITURE", "Contrat de distribution", "Bail commercial"),
                 "es": ("CONTRATO DE SUMINISTRO", "Contrato de arrendamiento")},
}  # fmt: skip

_BUYER = ("the Buyer", "the Tenant", "Abnehmer", "l'Acheteur")
_VALID_UNTIL = ("Valid until", "Gültig bis", "Valable jusqu'au", "Válido hasta", "Expiry date")

Blocks = list[list[str]]
T = TypeVar("T")


class _Doc:
    """One document being written: its random source, language and the helpers its layouts share."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.lang = rng.choices(("en", "de", "fr", "es"), weights=(62, 14, 12, 12))[0]
        self.country = "uk" if self.lang == "en" and rng.random() < 0.7 else rng.choice(("uk", "de", "fr", "es"))
        if self.lang != "en":
            self.country = self.lang if rng.random() < 0.85 else self.country
        self.symbol, self.code = _CURRENCY[self.country]
        self.day = date(2022, 1, 1) + timedelta(days=rng.randrange(4 * 365))
        self.date_style = rng.randrange(9)
        self.money_style = rng.randrange(5)

    def pick(self, options: Sequence[T]) -> T:
        return self.rng.choice(options)

    def w(self, key: str) -> str:
        """A word in the document's language (now and then in English, as mixed documents are)."""
        words = _WORDS[key]
        lang = "en" if self.rng.random() < 0.12 else self.lang
        return self.rng.choice(words[lang])

    def title(self, category: str) -> str:
        lang = "en" if self.rng.random() < 0.1 else self.lang
        return self.rng.choice(_TITLES[category][lang])

    def person(self) -> str:
        return f"{self.pick(_FIRST)} {self.pick(_LAST)}"

    def firm(self) -> str:
        if self.rng.random() < 0.5:
            return self.pick(_FIXED_FIRMS)
        return " ".join(p for p in (self.pick(_LAST), self.pick(_TRADES), self.pick(_FORMS)) if p)

    def address(self, firm: str | None = None) -> list[str]:
        country = self.country if self.rng.random() < 0.7 else self.pick(tuple(_STREETS))
        street, (city, postcode) = self.pick(_STREETS[country]), self.pick(_CITIES[country])
        number = str(self.rng.randint(1, 180))
        line = (
            f"{number} {street}" if country == "uk" or (country == "fr" and "rue" in street) else f"{street} {number}"
        )
        town = f"{city} {postcode}" if country == "uk" else f"{postcode} {city}"
        lines = [firm or self.firm(), line, town]
        if self.rng.random() < 0.4:
            lines.append(_COUNTRY[country])
        if self.rng.random() < 0.25:
            lines.insert(1, f"Attn. {self.person()}")
        return lines

    def when(self, shift: int = 0) -> str:
        """A date in one of the styles people and programs write them."""
        day = self.day + timedelta(days=shift)
        months = {
            "en": ("January", "February", "March", "April", "May", "June", "July", "August", "September",
                   "October", "November", "December"),
            "de": ("Januar", "Februar", "März", "April", "Mai", "Juni", "Juli", "August", "September", "Oktober",
                   "November", "Dezember"),
            "fr": ("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre",
                   "novembre", "décembre"),
            "es": ("enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto", "septiembre",
                   "octubre", "noviembre", "diciembre"),
        }  # fmt: skip
        month = months[self.lang][day.month - 1]
        styles = (
            day.isoformat(),
            f"{day.day:02d}.{day.month:02d}.{day.year}",
            f"{day.day:02d}/{day.month:02d}/{day.year}",
            f"{day.day}/{day.month}/{day.year % 100:02d}",
            f"{day.day} {month} {day.year}",
            f"{day.day}. {month} {day.year}" if self.lang == "de" else f"{day.day} {month[:3]} {day.year}",
            f"{months['en'][day.month - 1]} {day.day}, {day.year}",
            f"{day.day:02d}-{day.month:02d}-{day.year % 100:02d}",
            f"{day.year}{day.month:02d}{day.day:02d}",
        )
        return styles[self.date_style]

    def money(self, value: float, signed: bool = False) -> str:
        sign = "-" if value < 0 else ""
        whole, cents = divmod(round(abs(value) * 100), 100)
        if self.money_style in (0, 1):
            text = f"{whole:,}.{cents:02d}"
        elif self.money_style in (2, 3):
            text = f"{whole:,}".replace(",", ".") + f",{cents:02d}"
        else:
            text = f"{whole}.{cents:02d}"
        text = sign + text if signed or sign else text
        return (
            (f"{self.symbol}{text}", f"{text} {self.symbol}", f"{text} {self.code}", f"{self.code} {text}", text)[
                self.rng.randrange(5)
            ]
            if self.rng.random() < 0.6
            else text
        )

    def ref(self, prefixes: Sequence[str], digits: int = 0) -> str:
        """A reference number; the prefix is often one that any kind of document could carry."""
        prefix = self.pick(prefixes) if self.rng.random() < 0.65 else self.pick(("", "No ", "#", "A", "DOC-", "2024/"))
        size = digits or self.rng.randint(3, 6)
        number = self.rng.randint(10 ** (size - 1), 10**size - 1)
        return f"{prefix}{number}" if self.rng.random() < 0.5 else f"{prefix}{self.day.year}-{number % 100000:05d}"

    def lines_of_goods(self, count: int, *, priced: bool = True, sign: int = 1) -> tuple[list[str], float]:
        """Item lines in one of several table layouts, and their net sum."""
        layout = self.rng.randrange(5)
        rows, net = [], 0.0
        if self.rng.random() < 0.5:
            header = [self.w("qty"), self.w("item")] + ([self.w("price"), self.w("amount")] if priced else [])
            rows.append(("  " if layout != 3 else " | ").join(header))
        for _ in range(count):
            name, unit, base = self.pick(_PRODUCTS)
            qty = self.rng.choice((1, 2, 3, 4, 5, 6, 10, 12, 20, 24, 40, 50, 100))
            price = round(base * self.rng.uniform(0.8, 1.3), 2)
            line_total = sign * qty * price
            net += line_total
            code = f"{self.pick(('TE', 'CO', 'PK', 'CU', 'AR', 'SKU-'))}{self.rng.randint(100, 9999)}"
            money, total = self.money(price), self.money(line_total)
            if not priced:
                rows.append(self.pick((f"{qty} {unit} {name}", f"{code} {name} {qty} {unit}", f"{name} x{qty}")))
            elif layout == 0:
                rows.append(f"{qty} x {name} @ {money} = {total}")
            elif layout == 1:
                rows.append(f"{code}  {name}  {qty} {unit}  {money}  {total}")
            elif layout == 2:
                rows.extend((f"{name}", f"{qty} {unit} x {money}    {total}"))
            elif layout == 3:
                rows.append(f"{code} | {name} | {qty} | {money} | {total}")
            else:
                rows.append(f"{name} {'.' * self.rng.randint(2, 12)} {total}")
        return rows, net

    def totals(self, net: float, *, vat: bool = True) -> list[str]:
        rate = self.pick((0.2, 0.19, 0.07, 0.1, 0.21, 0.055)) if vat else 0.0
        lines = [f"{self.w('net')}: {self.money(net)}"] if vat else []
        if vat:
            lines.append(f"{self.w('vat')}  {self.money(net * rate)}")
        lines.append(f"{self.w('total')}: {self.money(net * (1 + rate))}")
        return lines

    def bank(self) -> list[str]:
        iban = f"{self.pick(('DE', 'GB', 'FR', 'ES'))}{self.rng.randint(10, 99)} " + " ".join(
            f"{self.rng.randint(0, 9999):04d}" for _ in range(4)
        )
        return [
            self.pick(("Bank details", "Bankverbindung", "Coordonnées bancaires", "Datos bancarios", "Pay to")),
            f"IBAN {iban}",
            f"BIC {self.pick(('COBADEFFXXX', 'BNPAFRPP', 'CAIXESBBXXX', 'NWBKGB2L', 'HASPDEHHXXX'))}",
        ]

    def contact(self) -> str:
        return self.pick(
            (
                f"Tel. +{self.rng.randint(30, 49)} {self.rng.randint(10, 99)} {self.rng.randint(100000, 9999999)}",
                f"www.{self.pick(('teehaus', 'greenleaf', 'cafe-montana', 'packright', 'nordiccups'))}.example",
                f"{self.pick(('info', 'orders', 'accounts', 'sales'))}@"
                f"{self.pick(('teehaus', 'greenleaf', 'brulerie'))}.example",
                f"VAT reg. no. GB {self.rng.randint(100, 999)} {self.rng.randint(1000, 9999)} "
                f"{self.rng.randint(10, 99)}",
                f"USt-IdNr. DE{self.rng.randint(100000000, 999999999)}",
                f"HRB {self.rng.randint(1000, 99999)} Amtsgericht {self.pick(('Hamburg', 'München', 'Köln'))}",
                f"SIRET {self.rng.randint(100, 999)} {self.rng.randint(100, 999)} {self.rng.randint(100, 999)} 00012",
                f"CIF B{self.rng.randint(10000000, 99999999)}",
            )
        )


# ---------------------------------------------------------------- one generator per category


def _invoice(d: _Doc) -> Blocks:
    seller, buyer = d.address(), d.address()
    items, net = d.lines_of_goods(d.rng.randint(1, 7))
    head = [d.title("invoice"), f"{d.pick(('Invoice', 'Rechnung', 'Facture', 'Factura'))} {d.w('no')} "
            f"{d.ref(('INV-', 'RE-', 'F', 'FA-', 'SI'))}", f"{d.w('date')}: {d.when()}"]  # fmt: skip
    if d.rng.random() < 0.6:
        head.append(f"{d.w('order')}: {d.ref(('PO-', 'B-', 'BC'))}")
    terms = d.pick(
        (
            f"Payment due within {d.pick(('14', '30', '60'))} days",
            f"Due date: {d.when(30)}",
            "Zahlbar innerhalb 14 Tagen ohne Abzug",
            f"Zahlungsziel: {d.when(14)}",
            "Paiement à 30 jours fin de mois",
            f"Échéance : {d.when(30)}",
            "Forma de pago: transferencia a 30 días",
            f"Please pay {d.money(net)} by bank transfer quoting the invoice number",
        )
    )
    blocks = [seller, head, [d.w("customer") + ":", *buyer], items, d.totals(net), [terms], d.bank()]
    if d.rng.random() < 0.3:
        blocks.append([d.w("thanks")])
    return blocks


def _credit_note(d: _Doc) -> Blocks:
    items, net = d.lines_of_goods(d.rng.randint(1, 4), sign=-1 if d.rng.random() < 0.6 else 1)
    original = d.ref(("INV-", "RE-", "F"))
    reason = d.pick(
        (
            "Reason: goods returned damaged",
            "Returned goods - broken in transit",
            "Price correction",
            "Short delivery, see delivery note",
            "Retoure: beschädigte Ware",
            "Preisdifferenz laut Vereinbarung",
            "Marchandise retournée (casse)",
            "Remise accordée sur facture",
            "Devolución de mercancía defectuosa",
            "Rebate for the last quarter",
        )
    )
    head = [d.title("credit note"), f"{d.w('no')} {d.ref(('CN-', 'GS-', 'AV', 'CR'))}", f"{d.w('date')}: {d.when()}"]
    about = d.pick(
        (
            f"relating to invoice {original}",
            f"Original invoice: {original}",
            f"zu Rechnung Nr. {original}",
            f"Réf. facture {original}",
            f"Rectifica la factura {original}",
            f"We have credited your account for invoice {original}",
        )
    )
    settle = d.pick(
        (
            "This amount will be deducted from your next invoice.",
            "The credit will be refunded to your account.",
            "Der Betrag wird mit der nächsten Rechnung verrechnet.",
            "Montant à déduire de votre prochain règlement.",
            "Importe a compensar en la próxima factura.",
            f"Total credit: {d.money(abs(net))}",
        )
    )
    return [d.address(), head, [d.w("customer") + ":", *d.address()], [about, reason], items, d.totals(net), [settle]]


def _purchase_order(d: _Doc) -> Blocks:
    priced = d.rng.random() < 0.7
    items, net = d.lines_of_goods(d.rng.randint(1, 8), priced=priced)
    confirmation = d.rng.random() < 0.2
    head = [
        d.pick(("Order confirmation", "Auftragsbestätigung", "Confirmation de commande"))
        if confirmation
        else d.title("purchase order"),
        f"{d.pick(('PO', 'Order', 'Bestell-Nr.', 'Commande', 'Pedido'))} {d.w('no')} "
        f"{d.ref(('PO-', 'B-', 'BC', 'OC-'))}",
        f"{d.w('date')}: {d.when()}",
    ]
    supplier = [d.pick(("Supplier", "Vendor", "Lieferant", "Fournisseur", "Proveedor")) + ":", *d.address()]
    deliver = [d.w("delivery_to") + ":", *d.address()]
    notes = [
        d.pick(
            (
                f"Requested delivery date: {d.when(10)}",
                f"Gewünschter Liefertermin: {d.when(7)}",
                f"Livraison souhaitée le {d.when(12)}",
                f"Fecha de entrega: {d.when(5)}",
                "Please deliver to the goods entrance, Mon-Fri 8-16",
            )
        ),
        d.pick(
            (
                "Please quote our PO number on your invoice and delivery note.",
                "Please confirm this order by return.",
                "Bitte bestätigen Sie den Auftrag.",
                "Merci de nous retourner l'accusé de réception.",
                "Rogamos confirmen el pedido.",
                "We confirm your order as follows.",
            )
        ),
    ]
    blocks = [d.address(), head, supplier, deliver, items]
    if priced:
        blocks.append(d.totals(net, vat=d.rng.random() < 0.5))
    blocks.append(notes)
    if d.rng.random() < 0.4:
        blocks.append([f"{d.pick(('Authorised by', 'Buyer', 'Einkauf', 'Acheteur'))}: {d.person()}"])
    return blocks


def _delivery_note(d: _Doc) -> Blocks:
    items, _ = d.lines_of_goods(d.rng.randint(1, 8), priced=d.rng.random() < 0.15)
    head = [
        d.title("delivery note"),
        f"{d.w('no')} {d.ref(('DN-', 'LS-', 'BL', 'ALB-'))}",
        f"{d.w('date')}: {d.when()}",
    ]
    refs = [f"{d.w('order')}: {d.ref(('PO-', 'B-', 'BC'))}"]
    if d.rng.random() < 0.3:
        refs.append(f"Invoice to follow / {d.pick(('Rechnung folgt', 'Facture suivra', 'Factura a continuación'))}")
    shipping = [
        f"{d.pick(('Pallets', 'Paletten', 'Palettes', 'Palés'))}: {d.rng.randint(1, 6)}",
        f"{d.pick(('Cartons', 'Kartons', 'Colis', 'Bultos'))}: {d.rng.randint(2, 80)}",
        f"{d.pick(('Gross weight', 'Gewicht', 'Poids brut', 'Peso'))}: {d.rng.randint(5, 900)} kg",
        f"{d.pick(('Carrier', 'Spedition', 'Transporteur', 'Transportista'))}: "
        f"{d.pick(('DHL Freight', 'DB Schenker', 'Geodis', 'SEUR', 'Palletways', 'own van'))}",
    ]
    sign = [
        d.pick(
            (
                "Goods received in good condition",
                "Ware vollständig und unbeschädigt erhalten",
                "Reçu en bon état",
                "Recibido conforme",
                "Received by (print name / signature):",
            )
        ),
        f"{d.pick(('Signature', 'Unterschrift', 'Signature du client', 'Firma'))}: ______  {d.person()}",
    ]
    return [d.address(), head, [d.w("delivery_to") + ":", *d.address()], refs, items, shipping, sign]


def _receipt(d: _Doc) -> Blocks:
    if d.rng.random() < 0.35:  # a payment receipt for an invoice, written like a letter
        amount = d.money(d.rng.uniform(40, 4000))
        return [
            d.address(),
            [d.title("receipt"), f"{d.w('no')} {d.ref(('R-', 'RC', 'Q-'))}", f"{d.w('date')}: {d.when()}"],
            [
                d.pick(
                    (
                        f"Received with thanks from {d.firm()} the sum of {amount}",
                        f"Betrag von {amount} dankend erhalten",
                        f"Reçu de {d.firm()} la somme de {amount}",
                        f"Recibí de {d.firm()} la cantidad de {amount}",
                        f"Payment of {amount} received, thank you",
                    )
                ),
                d.pick(
                    (
                        f"in payment of invoice {d.ref(('INV-', 'RE-', 'F'))}",
                        "for goods supplied",
                        "Paid in cash",
                        "Payment method: bank transfer",
                        "Bar bezahlt",
                    )
                ),
            ],
            [f"{d.pick(('Signed', 'Unterschrift', 'Signé', 'Firmado'))}: {d.person()}"],
        ]
    items, net = d.lines_of_goods(d.rng.randint(1, 5))
    till = [
        f"{d.pick(('Till', 'Kasse', 'Caisse', 'Caja'))} {d.rng.randint(1, 6)}  "
        f"{d.pick(('Cashier', 'Bediener', 'Vendeur', 'Cajero'))}: {d.pick(_FIRST)}",
        f"{d.when()} {d.rng.randint(7, 20):02d}:{d.rng.randint(0, 59):02d}",
    ]
    card = f"{d.pick(('VISA', 'Mastercard', 'Maestro', 'AMEX', 'girocard', 'CB'))} ****{d.rng.randint(1000, 9999)}"
    paid = [
        f"{d.w('total')} {d.money(net)}",
        d.pick(
            (
                f"Paid by card {card}",
                f"Karte {card}",
                f"Carte bancaire {card}",
                f"Pago con tarjeta {card}",
                f"Cash {d.money(net + d.rng.randint(1, 20))}",
                f"Bar {d.money(net + 5)}  Rückgeld {d.money(5)}",
                "Paid online - PayPal",
                f"Transaction approved  Auth code {d.rng.randint(100000, 999999)}",
            )
        ),
        d.pick(("VAT included", "inkl. MwSt.", "TVA incluse", "IVA incluido", f"{d.w('vat')} incl.")),
    ]
    end = [
        d.pick(
            (
                "Thank you for your purchase",
                "Vielen Dank für Ihren Einkauf",
                "Merci de votre visite",
                "Gracias por su compra",
                "Please keep this receipt for returns",
                "Customer copy",
            )
        )
    ]
    shop = [d.firm(), d.address()[1]]
    return [shop, [d.title("receipt")] if d.rng.random() < 0.6 else [], till, items, paid, end]


def _price_list(d: _Doc) -> Blocks:
    rows = []
    tiers = d.rng.random() < 0.5
    for _ in range(d.rng.randint(3, 14)):
        name, unit, base = d.pick(_PRODUCTS)
        code = f"{d.pick(('TE', 'CO', 'PK', 'CU', 'ART '))}{d.rng.randint(100, 9999)}"
        price = base * d.rng.uniform(0.8, 1.3)
        if tiers:
            rows.append(
                f"{code}  {name}  {d.money(price)} / {unit}  "
                f"{d.pick(('from 10', 'ab 10', 'dès 10', 'desde 10'))}: {d.money(price * 0.93)}  "
                f"{d.pick(('from 50', 'ab 50', 'dès 50', 'desde 50'))}: {d.money(price * 0.86)}"
            )
        else:
            rows.append(
                d.pick((f"{code}  {name}  {unit}  {d.money(price)}", f"{name} ... {d.money(price)} per {unit}"))
            )
    head = [
        d.title("price list"),
        d.pick(
            (
                f"Valid from {d.when()}",
                f"Gültig ab {d.when()}",
                f"Tarifs applicables au {d.when()}",
                f"Precios válidos desde {d.when()}",
                f"Prices effective {d.when()} until further notice",
                f"{d.pick(('Spring', 'Autumn', 'Season'))} {d.day.year}",
            )
        ),
    ]
    notes = [
        d.pick(
            (
                "All prices exclusive of VAT, ex works.",
                "Preise zzgl. gesetzl. MwSt., ab Lager.",
                "Prix HT, franco à partir de 300 EUR.",
                "Precios sin IVA. Portes pagados a partir de 250 EUR.",
                "Subject to change without notice. E&OE.",
            )
        ),
        d.pick(
            (
                f"Minimum order value {d.money(150)}",
                "Mindestbestellwert 100 EUR",
                "Commande minimum 2 cartons",
                "Pedido mínimo 5 kg",
                "Orders before 2 pm ship the same day",
            )
        ),
    ]
    if d.rng.random() < 0.25:  # an offer for one customer reads much like a price list
        head.insert(1, f"{d.pick(('Quotation for', 'Angebot für', 'Offre pour', 'Oferta para'))} {d.firm()}")
    return [d.address(), head, [f"{d.w('item')}  {d.w('price')}"], rows, notes]


def _contract(d: _Doc) -> Blocks:
    lease = d.rng.random() < 0.2
    a, b = d.firm(), d.firm()
    clauses_en = (
        f"1. Subject matter. The Supplier shall supply {d.pick(('tea', 'coffee', 'packaging', 'cups and lids'))} "
        "to the Buyer as ordered from time to time.",
        f"2. Term. This agreement starts on {d.when()} and runs for {d.pick(('12', '24', '36'))} months; it renews "
        "automatically unless terminated with three months' notice.",
        "3. Prices and payment. Prices are those of the current price list; invoices are payable within 30 days.",
        "4. Delivery. Delivery terms DAP Incoterms 2020; risk passes on delivery; delivery notes must be signed.",
        "5. Quality. Goods shall comply with applicable food safety law; certificates are provided on request.",
        "6. Liability. Neither party is liable for indirect loss; liability is limited to the order value.",
        "7. Termination. Either party may terminate for material breach on 30 days' written notice.",
        f"8. Governing law. This agreement is governed by the laws of "
        f"{d.pick(('England and Wales', 'Germany', 'France', 'Spain'))}.",
        "9. Confidentiality. The parties shall keep the terms of this agreement confidential.",
    )  # fmt: skip
    clauses_lease = (
        f"1. The Landlord lets to the Tenant the warehouse unit at {d.address()[1]}.",
        f"2. The rent is {d.money(d.rng.randint(900, 6000))} per month, payable in advance on the first day.",
        f"3. The term is {d.pick(('five', 'three', 'ten'))} years from {d.when()}.",
        "4. The Tenant pays service charges and insurance as invoiced by the Landlord.",
        "5. The deposit equals three months' rent.",
    )
    clauses_other = {
        "de": (
            "§ 1 Vertragsgegenstand: Der Lieferant liefert Tee und Kaffee gemäß Bestellung.",
            f"§ 2 Laufzeit: Der Vertrag beginnt am {d.when()} und läuft auf unbestimmte Zeit.",
            "§ 3 Preise: Es gilt die jeweils aktuelle Preisliste. Rechnungen sind binnen 30 Tagen zahlbar.",
            "§ 4 Kündigung: Der Vertrag kann mit einer Frist von drei Monaten gekündigt werden.",
            "§ 5 Gerichtsstand ist Hamburg.",
        ),
        "fr": (
            "Article 1 - Objet : le Fournisseur s'engage à livrer les produits commandés.",
            f"Article 2 - Durée : le présent contrat prend effet le {d.when()} pour une durée d'un an.",
            "Article 3 - Prix : les prix sont ceux du tarif en vigueur ; paiement à 30 jours.",
            "Article 4 - Résiliation : préavis de trois mois par lettre recommandée.",
            "Article 5 - Droit applicable : droit français.",
        ),
        "es": (
            "Cláusula primera. Objeto: el Proveedor suministrará los productos pedidos.",
            f"Cláusula segunda. Duración: desde el {d.when()} por un año prorrogable.",
            "Cláusula tercera. Precio: según tarifa vigente; pago a 30 días.",
            "Cláusula cuarta. Resolución: preaviso de tres meses.",
        ),
    }
    if lease:
        clauses = list(clauses_lease)
    elif d.lang in clauses_other and d.rng.random() < 0.8:
        clauses = list(clauses_other[d.lang])
    else:
        clauses = list(clauses_en)
    clauses = [c for c in clauses if d.rng.random() < 0.8] or clauses[:2]
    parties = [
        d.pick(("between", "zwischen", "entre", "entre")),
        f"{a}, {d.address(a)[1]} ({d.pick(('the Supplier', 'the Landlord', 'Lieferant', 'le Fournisseur'))})",
        d.pick(("and", "und", "et", "y")),
        f"{b} ({d.pick(_BUYER)})",
    ]
    signatures = [
        f"{d.pick(('Signed', 'Ort, Datum', 'Fait à', 'Firmado en'))} "
        f"{d.pick(('Hamburg', 'Paris', 'Bristol', 'Madrid'))}, {d.when()}",
        f"{d.person()} ______    {d.person()} ______",
    ]
    return [[d.title("contract")], parties, clauses, signatures]


def _certificate(d: _Doc) -> Blocks:
    kind = d.rng.randrange(5)
    holder = d.firm()
    valid = f"{d.pick(_VALID_UNTIL)}: {d.when(365)}"
    number = f"{d.pick(('Certificate no.', 'Zertifikat Nr.', 'Certificat n°', 'Certificado nº'))} "
    number += d.ref(("C-", "ZE", "CERT"))
    if kind == 0:
        body = [
            d.pick(("CERTIFICATE", "Organic certificate", "Bio-Zertifikat", "Certificat biologique")),
            "according to Regulation (EU) 2018/848 on organic production",
            f"Control body: {d.pick(('DE-ÖKO-006', 'FR-BIO-01', 'ES-ECO-020-CT', 'GB-ORG-05'))}",
            f"Operator: {holder}",
            f"Products: {d.pick(_PRODUCTS)[0]}, {d.pick(_PRODUCTS)[0]}",
            "Activities: import, processing (blending, packing), trading",
        ]
    elif kind == 1:
        body = [
            d.pick(("Food Safety Certificate", "FSSC 22000 Certificate", "IFS Food", "Certificate of Registration")),
            f"This is to certify that the food safety management system of {holder}",
            "has been assessed and found to conform to ISO 22000:2018 / HACCP principles",
            f"Scope: {d.pick(('blending and packing of tea', 'roasting and packing of coffee', 'paper cups'))}",
            f"Audit date: {d.when()}",
        ]
    elif kind == 2:
        body = [
            d.pick(("Certificate of Insurance", "Versicherungsbestätigung", "Attestation d'assurance")),
            f"Policy number {d.ref(('POL-', 'VS', 'AX'))}",
            f"Insured: {holder}",
            f"Cover: {d.pick(('Public and products liability', 'Betriebshaftpflicht', 'Stock and goods in transit'))}",
            f"Limit of indemnity {d.money(d.pick((1000000, 2000000, 5000000)))}",
            f"Period of insurance {d.when()} to {d.when(365)}",
        ]
    elif kind == 3:
        body = [
            d.pick(("Certificate of Analysis", "Analysenzertifikat", "Certificat d'analyse")),
            f"Product: {d.pick(_PRODUCTS)[0]}  Lot {d.ref(('L', 'LOT'))}",
            f"Moisture {d.rng.uniform(3, 9):.1f} %  (limit 10 %)",
            "Pesticide residues: below EU MRL",
            "Salmonella: not detected in 25 g",
            "Result: conforms",
        ]
    else:
        body = [
            d.pick(("Declaration of conformity", "Konformitätserklärung", "Certificate of compliance")),
            f"for {d.pick(('paper cups', 'lids', 'kraft pouches', 'tea caddies'))} intended to touch food",
            "We hereby declare that the articles comply with Regulation (EC) No 1935/2004 and (EU) No 10/2011.",
            "Overall migration tested, results within limits",
        ]
    if d.rng.random() < 0.3:
        body.append(d.pick(("Renewal", "This certificate replaces the previous one", "Verlängerung", "Renouvellement")))
    issuer = [
        f"{d.pick(('Issued by', 'Ausgestellt von', 'Délivré par', 'Emitido por'))} "
        f"{d.pick(('Kiwa BCS', 'Ecocert', 'SGS', 'TÜV Nord', 'Lloyds Register', 'Allianz', 'AXA'))}",
        f"{d.w('date')}: {d.when()}",
    ]
    return [body[:1], body[1:], [number, valid], issuer]


def _ascii(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()


def _correspondence(d: _Doc) -> Blocks:
    name, first = d.person(), d.pick(_FIRST)
    inv, po = d.ref(("INV-", "RE-", "F")), d.ref(("PO-", "B-"))
    topic = d.rng.randrange(10)
    en = (
        (f"Re: overdue invoice {inv}", f"According to our records, invoice {inv} of {d.when(-40)} for "
         f"{d.money(d.rng.uniform(100, 3000))} is still unpaid. Please arrange payment within 7 days."),
        (f"Delay of your order {po}", f"Unfortunately the delivery of your order {po} will be delayed by about "
         "two weeks because of a shortage of Darjeeling. We apologise for the inconvenience."),
        ("Price increase from next month", "Due to higher green coffee and freight costs we have to increase our "
         "prices by around 6% from next month. The new price list will follow."),
        (f"Complaint about delivery {d.ref(('DN-', 'LS-'))}", "Several cartons of cups arrived crushed. Could you "
         "please send replacements or a credit note? Photos attached."),
        ("Request for certificates", "For our annual audit we need your current organic certificate and the "
         "declaration of conformity for the paper cups. Could you send them?"),
        ("Holiday closing", "Please note that our warehouse is closed between Christmas and New Year. Orders "
         "received after 20 December will be delivered in January."),
        ("New contact person", f"From Monday {name} takes over your account. Please send orders and questions "
         "to her directly."),
        ("Meeting next week", "Thank you for your visit. As discussed, we would like to taste the new Sencha "
         "samples. Would Tuesday at 10 suit you?"),
        (f"Your enquiry of {d.when(-3)}", "Thank you for your interest in our teas. We attach our catalogue and "
         "would be pleased to send you samples."),
        ("Change of bank details", "Please note our new bank details for all future payments. Kindly update "
         "your records."),
    )  # fmt: skip
    other = {
        "de": (
            (f"Zahlungserinnerung Rechnung {inv}", "sicher ist es Ihrer Aufmerksamkeit entgangen, dass die "
             "Rechnung noch offen ist. Bitte überweisen Sie den Betrag innerhalb von 7 Tagen."),
            (f"Lieferverzögerung Bestellung {po}", "leider verzögert sich die Lieferung Ihrer Bestellung um "
             "etwa eine Woche. Wir bitten um Verständnis."),
            ("Preisanpassung", "aufgrund gestiegener Rohstoffkosten müssen wir unsere Preise ab nächsten Monat "
             "anpassen. Die neue Preisliste folgt."),
            ("Reklamation", "leider sind mehrere Kartons beschädigt angekommen. Bitte senden Sie Ersatz."),
            ("Anfrage Zertifikate", "für unser Audit benötigen wir Ihr aktuelles Bio-Zertifikat. Vielen Dank."),
        ),
        "fr": (
            (f"Relance facture {inv}", "sauf erreur de notre part, la facture reste impayée à ce jour. Merci de "
             "procéder au règlement sous huitaine."),
            (f"Retard de livraison commande {po}", "nous vous informons que la livraison de votre commande aura "
             "environ une semaine de retard."),
            ("Hausse de tarifs", "en raison de la hausse des coûts, nos prix augmenteront le mois prochain."),
            ("Réclamation", "plusieurs colis sont arrivés endommagés. Merci de nous envoyer un avoir."),
            ("Demande de certificat", "pourriez-vous nous faire parvenir votre certificat bio en cours de validité ?"),
        ),
        "es": (
            (f"Recordatorio factura {inv}", "le recordamos que la factura sigue pendiente de pago. Le rogamos "
             "efectúe el pago a la mayor brevedad."),
            (f"Retraso pedido {po}", "lamentamos informarle de que su pedido se entregará con una semana de retraso."),
            ("Subida de precios", "debido al aumento de costes, actualizaremos nuestras tarifas el próximo mes."),
            ("Reclamación", "varias cajas llegaron dañadas. Les rogamos nos envíen una nota de crédito."),
            ("Solicitud de certificado", "¿podrían enviarnos su certificado ecológico vigente?"),
        ),
    }  # fmt: skip
    subject, body = d.pick(other[d.lang]) if d.lang in other and d.rng.random() < 0.8 else en[topic]
    greeting = d.pick(_WORDS["dear"][d.lang]).format(name=name, first=first)
    sender = d.person()
    email = d.rng.random() < 0.55
    blocks: Blocks = []
    if email:
        fold = _ascii(sender.lower().replace(" ", ".").replace("'", ""))
        blocks.append(
            [
                f"{d.pick(('From', 'Von', 'De'))}: {sender} <{fold}@{d.pick(('greenleaf', 'teehaus'))}.example>",
                f"{d.pick(('To', 'An', 'À', 'Para'))}: {_ascii(name.lower().replace(' ', '.'))}@example.com",
                f"{d.pick(('Sent', 'Gesendet', 'Envoyé', 'Enviado'))}: {d.when()} "
                f"{d.rng.randint(7, 19)}:{d.rng.randint(0, 59):02d}",
                f"{d.pick(('Subject', 'Betreff', 'Objet', 'Asunto'))}: {subject}",
            ]
        )
    else:
        blocks.extend([d.address(), d.address(), [f"{d.pick(('Hamburg', 'Bristol', 'Paris', 'Madrid'))}, {d.when()}"]])
        blocks.append([subject])
    blocks.append([greeting, body])
    if d.rng.random() < 0.3:
        blocks.append([d.pick(("Attachment: scan.pdf", "Anlage: Preisliste.pdf", "PJ : certificat.pdf", "Adjunto"))])
    blocks.append([d.w("regards") + ",", sender, d.firm()])
    return blocks


def _other(d: _Doc) -> Blocks:
    kind = d.rng.randrange(9)
    if kind == 0:
        rows = [
            f"{d.when(i)}  {d.pick(('SEPA transfer', 'Card payment', 'Direct debit', 'Lastschrift', 'Virement'))} "
            f"{d.firm()}  {d.money(d.rng.uniform(-900, 1500), signed=True)}"
            for i in range(d.rng.randint(3, 9))
        ]
        return [
            [d.pick(("Bank statement", "Kontoauszug", "Relevé de compte", "Extracto bancario"))],
            [f"Account {d.rng.randint(10000000, 99999999)}", f"Opening balance {d.money(d.rng.uniform(1000, 20000))}"],
            rows,
            [f"Closing balance {d.money(d.rng.uniform(1000, 20000))}"],
        ]
    if kind == 1:
        rows = [
            f"{d.pick(_PRODUCTS)[0]}  {d.pick(('Shelf', 'Regal', 'Rayon'))} {d.pick('ABCDE')}{d.rng.randint(1, 9)}  "
            f"{d.rng.randint(0, 120)}"
            for _ in range(d.rng.randint(4, 12))
        ]
        return [[d.pick(("Stock count sheet", "Inventurliste", "Inventaire", "Recuento de stock"))], [d.when()], rows]
    if kind == 2:
        product = d.pick(_PRODUCTS)[0]
        return [
            [product, d.pick(("Product specification", "Produktdatenblatt", "Fiche technique"))],
            [
                f"Origin: {d.pick(('India', 'Sri Lanka', 'China', 'Kenya', 'Colombia', 'Brazil'))}",
                f"Shelf life: {d.rng.randint(12, 36)} months",
                "Storage: cool and dry, away from light",
                f"Brewing: {d.rng.randint(70, 100)} °C, {d.rng.randint(2, 5)} min",
            ],
        ]
    if kind == 3:
        return [
            [d.pick(("Minutes of team meeting", "Protokoll Teambesprechung", "Compte rendu de réunion"))],
            [f"{d.w('date')}: {d.when()}", f"Present: {d.person()}, {d.person()}, {d.person()}"],
            [
                "1. Warehouse layout: move packaging to aisle 3",
                "2. Christmas opening hours agreed",
                "3. New coffee machine for the kitchen",
                f"Next meeting {d.when(14)}",
            ],
        ]
    if kind == 4:
        return [
            [d.pick(("Newsletter", "Tea of the month", "Neuigkeiten", "Nouveautés"))],
            [
                f"This month we present {d.pick(_PRODUCTS)[0]} from a small estate.",
                "Join our tasting evening in the shop, free entry.",
                "Unsubscribe | View in browser",
            ],
        ]
    if kind == 5:
        return [
            [d.pick(("SHIP TO", "Empfänger", "Destinataire"))],
            d.address(),
            [f"{d.pick(('Tracking', 'Sendungsnummer', 'Suivi'))} {d.rng.randint(10**11, 10**12)}"],
            [f"{d.rng.randint(1, 30)} kg  1/1  {d.pick(('DHL', 'UPS', 'DPD', 'GLS', 'Colissimo'))}"],
        ]
    if kind == 6:
        return [
            [d.pick(("Cleaning schedule", "Reinigungsplan", "Planning de nettoyage"))],
            [f"{day}: {d.pick(_FIRST)}" for day in ("Mon", "Tue", "Wed", "Thu", "Fri")],
            ["Sign when done", "Coffee machine descaling monthly"],
        ]
    if kind == 7:
        return [
            [d.pick(("Job vacancy: warehouse assistant", "Stellenanzeige Lagerhelfer (m/w/d)", "Offre d'emploi"))],
            [
                "Full time, forklift licence an advantage",
                "Picking and packing orders, receiving deliveries",
                f"Apply to {d.person()} by {d.when(20)}",
            ],
        ]
    return [
        [d.pick(("FAX", "Fax cover sheet", "Notes", "Memo", "Telefonnotiz"))],
        [f"{d.pick(('To', 'An', 'À'))}: {d.person()}", f"{d.pick(('From', 'Von', 'De'))}: {d.person()}", d.when()],
        [
            d.pick(
                ("Please call back re samples.", "Pages: 3 including this one", "Bitte Rückruf.", "Voir pièce jointe")
            )
        ],
    ]


_GENERATORS: dict[str, Callable[[_Doc], Blocks]] = {
    "invoice": _invoice,
    "credit note": _credit_note,
    "purchase order": _purchase_order,
    "delivery note": _delivery_note,
    "receipt": _receipt,
    "price list": _price_list,
    "contract": _contract,
    "certificate": _certificate,
    "correspondence": _correspondence,
    "other": _other,
}


# ---------------------------------------------------------------- page furniture and damage

_OCR_PAIRS = (
    ("rn", "m"), ("m", "rn"), ("cl", "d"), ("o", "0"), ("0", "O"), ("O", "0"), ("l", "1"), ("1", "l"), ("I", "l"),
    ("l", "I"), ("e", "c"), ("S", "5"), ("5", "S"), ("B", "8"), ("a", "o"), ("h", "b"), ("u", "v"), ("é", "e"),
    ("ü", "u"), ("ß", "B"), ("i", "í"), (",", "."), (".", ","),
)  # fmt: skip


def _ocr_damage(text: str, rng: random.Random, rate: float) -> str:
    """What a poor scan does to text: look-alike characters, lost or extra spaces, junk and broken lines."""
    out: list[str] = []
    i = 0
    while i < len(text):
        if rng.random() >= rate:
            out.append(text[i])
            i += 1
            continue
        for wrong, right in _OCR_PAIRS:
            if text.startswith(wrong, i) and rng.random() < 0.7:
                out.append(right)
                i += len(wrong)
                break
        else:
            char = text[i]
            action = rng.randrange(5)
            if char == " " or action == 0:
                out.append("" if char == " " else char + " ")  # a lost space, or one too many
            elif action == 1:
                out.append(rng.choice(("|", "~", "'", ".", "`", "-")) + char)
            elif action == 2:
                out.append(char + "\n")
            elif action == 3:
                out.append(char * 2)
            i += 1
    return "".join(out)


def _header(d: _Doc) -> str:
    return d.pick(
        (
            f"Page 1 of {d.rng.randint(1, 3)}",
            f"Seite 1/{d.rng.randint(1, 3)}",
            "COPY",
            "ORIGINAL",
            "Duplicata",
            "KOPIE",
            f"FAX FROM +{d.rng.randint(30, 49)} {d.rng.randint(1000000, 9999999)}  P.01",
            f"Printed {d.when()} {d.rng.randint(7, 19)}:{d.rng.randint(0, 59):02d}",
            f"Scanned {d.when()}",
        )
    )


def _footer(d: _Doc) -> list[str]:
    return [d.contact() for _ in range(d.rng.randint(1, 3))]


def _render(category: str, rng: random.Random) -> str:
    """One document of `category`: its layout, then page furniture, shuffling, cutting and scanning damage."""
    d = _Doc(rng)
    blocks = [block for block in _GENERATORS[category](d) if block]
    if rng.random() < 0.12:  # a heading lost to a stamp, a fold or a bad crop
        blocks[0] = blocks[0][1:] or blocks[0]
    for block in blocks:
        if len(block) > 1 and rng.random() < 0.15:  # columns read in another order
            rng.shuffle(block)
    if rng.random() < 0.15:
        rng.shuffle(blocks)
    lines = [line for block in blocks for line in block]
    if rng.random() < 0.5:
        lines.insert(0, _header(d))
    if rng.random() < 0.6:
        lines.extend(_footer(d))
    if rng.random() < 0.08:  # a scrap: one or a few lines from anywhere in the document
        start = rng.randrange(len(lines))
        lines = lines[start : start + rng.randint(1, 3)]
    if rng.random() < 0.2:
        lines = [line.upper() for line in lines]
    text = "\n".join(lines)
    damage = rng.random()
    if damage < 0.2:
        text = _ocr_damage(text, rng, rate=rng.uniform(0.04, 0.1))
    elif damage < 0.6:
        text = _ocr_damage(text, rng, rate=rng.uniform(0.005, 0.02))
    return text


def generate(n_per_category: int, seed: int) -> list[LabelledText]:
    """`n_per_category` synthetic documents of every category, the same for the same seed, in mixed order."""
    if n_per_category < 0:
        raise ValueError("n_per_category cannot be negative.")
    items = [
        LabelledText(_render(category, random.Random(f"corpus:{seed}:{category}:{i}")), category)
        for category in CATEGORIES
        for i in range(n_per_category)
    ]
    random.Random(f"order:{seed}").shuffle(items)
    return items


def split(
    items: Sequence[LabelledText], test_fraction: float, seed: int
) -> tuple[list[LabelledText], list[LabelledText]]:
    """Training and test parts with each category divided in the same proportion, the same for the same seed.

    A category with at least two items keeps at least one on each side. Both parts keep the order of `items`.
    """
    if not 0 < test_fraction < 1:
        raise ValueError("test_fraction must be between 0 and 1.")
    by_category: dict[str, list[int]] = {}
    for index, item in enumerate(items):
        by_category.setdefault(item.category, []).append(index)
    test: set[int] = set()
    for category in sorted(by_category):
        indices = by_category[category]
        random.Random(f"split:{seed}:{category}").shuffle(indices)
        count = round(len(indices) * test_fraction)
        if len(indices) >= 2:
            count = min(max(count, 1), len(indices) - 1)
        test.update(indices[:count])
    return (
        [item for index, item in enumerate(items) if index not in test],
        [item for index, item in enumerate(items) if index in test],
    )
