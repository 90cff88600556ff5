"""A synthetic, labelled training corpus for the document categories, made up by our own code.

Nothing here is a real document, company or person: every text is generated from the word lists
and layouts in this module, deterministically from a seed, to train the bootstrap model before
people have reviewed any real documents (and to test training end to end). The texts imitate
what the text extraction of a small tea, coffee and packaging wholesaler's paperwork yields:
several layouts and wordings per category in six languages of western Europe (English, German,
French, Spanish, Dutch, Italian; now and then a bilingual title or an English label), accented
names, amounts and dates in several formats, reference numbers, letterheads with the tax and
registry numbers of the sender's country, legal footers, labelled header fields, tables padded
into columns under a header row, two blocks side by side as a PDF's text layer joins them, page
headers, and OCR damage (0/O, 1/l, rn/m, lost spaces, broken lines, lines out of order).

Every category gets the same furniture (letterhead, footer, addresses, tables), so what tells
them apart is what tells them apart on paper: an invoice's number, due date, payment terms and
bank details; a certificate of analysis's table of parameters, limits and results; a price list's
sections, tiers and validity; a delivery note's ordered and delivered columns and signature. The
model learnt from it is confident on clear documents of that kind, which is what a new
installation needs (docs/PERFORMANCE.md, "The first model on realistic documents", measured on
hand-written documents in tests/data/realistic/ that this module was not written from).

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
    "nl": ("Havenstraat", "Industrieweg", "Kerkstraat", "Nijverheidsweg", "Stationsplein", "Kade"),
    "it": ("Via Roma", "Corso Italia", "Via dell'Industria", "Viale Europa", "Piazza Garibaldi", "Via Emilia"),
}
_CITIES = {
    "uk": (("Bristol", "BS1 4DJ"), ("Leeds", "LS2 7EY"), ("London", "E1 6AN"), ("Glasgow", "G1 2FF")),
    "de": (("Hamburg", "20457"), ("München", "80331"), ("Köln", "50667"), ("Düsseldorf", "40213")),
    "fr": (("Paris", "75002"), ("Bordeaux", "33000"), ("Lyon", "69002"), ("Nantes", "44000")),
    "es": (("Madrid", "28013"), ("Sevilla", "41001"), ("Zaragoza", "50001"), ("Bilbao", "48001")),
    "nl": (("Amsterdam", "1013 AP"), ("Utrecht", "3511 LX"), ("Eindhoven", "5611 AZ"), ("Groningen", "9711 HV")),
    "it": (("Milano", "20121"), ("Torino", "10121"), ("Bologna", "40121"), ("Napoli", "80133")),
}
_COUNTRY = {
    "uk": "United Kingdom", "de": "Deutschland", "fr": "France", "es": "España", "nl": "Nederland", "it": "Italia",
}  # fmt: skip
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
_CURRENCY = {
    "uk": ("£", "GBP"), "de": ("€", "EUR"), "fr": ("€", "EUR"), "es": ("€", "EUR"), "nl": ("€", "EUR"), "it": ("€",
                                                                                                               "EUR"),
}  # fmt: skip
LANGUAGES = ("en", "de", "fr", "es", "nl", "it")

# Words in each language; a document mostly keeps to its own, with a few English ones.
_WORDS: dict[str, dict[str, tuple[str, ...]]] = {
    "date": {"en": ("Date", "Dated", "Date of issue", "Document date"), "de": ("Datum", "Belegdatum"),
             "fr": ("Date", "Le", "Date d'émission"), "es": ("Fecha", "Fecha de emisión"),
             "nl": ("Datum", "Documentdatum"), "it": ("Data", "Data documento")},
    "no": {"en": ("No.", "Number", "Ref.", "Reference"), "de": ("Nr.", "Nummer"), "fr": ("N°", "Numéro", "Réf."),
           "es": ("Nº", "Número", "Ref."), "nl": ("Nr.", "Nummer", "Kenmerk"), "it": ("N.", "Numero", "Rif.")},
    "customer": {"en": ("Customer", "Bill to", "Sold to", "Account", "Invoice address"),
                 "de": ("Kunde", "Kundennr.", "An", "Rechnungsanschrift"), "fr": ("Client", "Destinataire",
                                                                                  "Facturé à"),
                 "es": ("Cliente", "Destinatario", "Facturar a"), "nl": ("Klant", "Debiteur", "Aan", "Klantnr."),
                 "it": ("Cliente", "Spett.le", "Destinatario", "Intestatario")},
    "qty": {"en": ("Qty", "Quantity", "Units"), "de": ("Menge", "Anz."), "fr": ("Qté", "Quantité"),
            "es": ("Cant.", "Cantidad", "Uds."), "nl": ("Aantal", "Hoeveelheid"), "it": ("Q.tà", "Quantità")},
    "item": {"en": ("Description", "Item", "Product", "Article"), "de": ("Bezeichnung", "Artikel", "Beschreibung"),
             "fr": ("Désignation", "Article", "Libellé"), "es": ("Descripción", "Artículo", "Concepto"),
             "nl": ("Omschrijving", "Artikel", "Product"), "it": ("Descrizione", "Articolo", "Prodotto")},
    "code": {"en": ("Code", "Item code", "SKU", "Art. no."), "de": ("Art.-Nr.", "Artikelnr.", "Pos."),
             "fr": ("Réf.", "Code", "Référence"), "es": ("Código", "Ref."), "nl": ("Art.nr.", "Code"),
             "it": ("Cod.", "Codice", "Cod. art.")},
    "unit": {"en": ("Unit", "UoM", "Pack"), "de": ("Einheit", "ME", "VE"), "fr": ("Unité", "U.", "Cond."),
             "es": ("Unidad", "Ud."), "nl": ("Eenheid", "Verp."), "it": ("U.M.", "Conf.")},
    "price": {"en": ("Unit price", "Price", "Rate", "Price each"), "de": ("Einzelpreis", "E-Preis", "Preis"),
              "fr": ("Prix unitaire", "P.U.", "PU HT"), "es": ("Precio unitario", "Precio"),
              "nl": ("Prijs", "Stukprijs", "Prijs per eenheid"), "it": ("Prezzo", "Prezzo unitario", "Prezzo unit.")},
    "amount": {"en": ("Amount", "Line total", "Total", "Net amount"), "de": ("Betrag", "Gesamt", "Gesamtpreis"),
               "fr": ("Montant", "Total", "Montant HT"), "es": ("Importe", "Total"), "nl": ("Bedrag", "Totaal"),
               "it": ("Importo", "Totale")},
    "net": {"en": ("Subtotal", "Net", "Net total", "Goods total", "Total net"),
            "de": ("Zwischensumme", "Nettobetrag", "Netto", "Warenwert netto"),
            "fr": ("Sous-total", "Total HT", "Montant HT"), "es": ("Base imponible", "Subtotal", "Suma"),
            "nl": ("Subtotaal", "Totaal excl. btw", "Netto"), "it": ("Imponibile", "Totale imponibile",
                                                                     "Totale merce")},
    "vat": {"en": ("VAT 20%", "VAT", "Tax", "VAT @ 20%"), "de": ("MwSt. 19%", "USt 7%", "zzgl. MwSt.", "Umsatzsteuer"),
            "fr": ("TVA 20%", "TVA 5,5%", "Montant TVA"), "es": ("IVA 21%", "IVA 10%", "Cuota IVA"),
            "nl": ("BTW 21%", "BTW 9%", "Btw"), "it": ("IVA 22%", "IVA 10%", "Imposta")},
    "total": {"en": ("Total", "Total due", "Amount due", "Grand total", "Balance", "Total payable"),
              "de": ("Gesamtbetrag", "Summe", "Endbetrag", "Rechnungsbetrag", "Zahlbetrag"),
              "fr": ("Total TTC", "Net à payer", "Total", "Montant TTC"),
              "es": ("Total", "Importe total", "Total a pagar"), "nl": ("Totaal", "Totaal incl. btw", "Te betalen"),
              "it": ("Totale", "Totale documento", "Totale da pagare", "Netto a pagare")},
    "order": {"en": ("Your order", "Order no.", "Order ref.", "PO number", "Customer PO"),
              "de": ("Ihre Bestellung", "Auftrag Nr.", "Bestellnummer"), "fr": ("Votre commande", "Commande n°",
                                                                                "Vos réf."),
              "es": ("Su pedido", "Pedido nº", "Su referencia"), "nl": ("Uw order", "Ordernr.", "Uw referentie"),
              "it": ("Vs. ordine", "Ordine n.", "Vs. riferimento")},
    "delivery_to": {"en": ("Deliver to", "Ship to", "Delivery address"), "de": ("Lieferadresse", "Lieferanschrift"),
                    "fr": ("Adresse de livraison", "Livrer à"), "es": ("Dirección de entrega", "Entregar en"),
                    "nl": ("Afleveradres", "Leveradres"), "it": ("Destinazione merce", "Luogo di consegna")},
    "thanks": {"en": ("Thank you for your business.", "Thank you!", "Many thanks."),
               "de": ("Vielen Dank für Ihren Auftrag.", "Danke!"), "fr": ("Merci de votre confiance.", "Merci !"),
               "es": ("Gracias por su confianza.", "¡Gracias!"), "nl": ("Dank voor uw bestelling.", "Bedankt!"),
               "it": ("Grazie per la preferenza.", "Grazie!")},
    "regards": {"en": ("Kind regards", "Best regards", "Yours sincerely", "Thanks", "Yours faithfully"),
                "de": ("Mit freundlichen Grüßen", "Viele Grüße", "Freundliche Grüße"),
                "fr": ("Cordialement", "Bien à vous", "Veuillez agréer nos salutations distinguées"),
                "es": ("Saludos cordiales", "Atentamente", "Un saludo"),
                "nl": ("Met vriendelijke groet", "Hartelijke groeten", "Met vriendelijke groeten"),
                "it": ("Cordiali saluti", "Distinti saluti", "Un caro saluto")},
    "dear": {"en": ("Dear {name},", "Hello {name},", "Hi {first},", "Dear Sir or Madam,"),
             "de": ("Sehr geehrte Damen und Herren,", "Hallo {first},", "Sehr geehrte/r {name},"),
             "fr": ("Madame, Monsieur,", "Bonjour {first},", "Cher {name},"),
             "es": ("Estimado/a {name}:", "Hola {first},", "Estimados señores:"),
             "nl": ("Geachte heer/mevrouw,", "Beste {first},", "Geachte {name},"),
             "it": ("Gentile {name},", "Spettabile ditta,", "Ciao {first},", "Egregio {name},")},
    "page": {"en": ("Page 1 of 2", "Page 1/1", "p. 1"), "de": ("Seite 1 von 2", "Seite 1/1"),
             "fr": ("Page 1/2", "Page 1 sur 1"), "es": ("Página 1 de 1", "Pág. 1/2"), "nl": ("Pagina 1 van 2",
                                                                                             "Blad 1"),
             "it": ("Pagina 1 di 2", "Pag. 1/1")},
}  # fmt: skip

_TITLES: dict[str, dict[str, tuple[str, ...]]] = {
    "invoice": {"en": ("INVOICE", "Invoice", "TAX INVOICE", "Sales invoice", "Proforma invoice", "VAT INVOICE"),
                "de": ("RECHNUNG", "Rechnung", "Ausgangsrechnung"), "fr": ("FACTURE", "Facture"),
                "es": ("FACTURA", "Factura"), "nl": ("FACTUUR", "Factuur", "Verkoopfactuur"),
                "it": ("FATTURA", "Fattura", "Fattura immediata")},
    "credit note": {"en": ("CREDIT NOTE", "Credit note", "Credit memo", "CREDIT"), "de": ("GUTSCHRIFT", "Gutschrift",
                    "Rechnungskorrektur"), "fr": ("AVOIR", "Facture d'avoir"),
                    "es": ("NOTA DE CRÉDITO", "Factura rectificativa", "Abono"),
                    "nl": ("CREDITNOTA", "Creditfactuur", "Creditnota"), "it": ("NOTA DI CREDITO",
                                                                                "Nota di accredito")},
    "purchase order": {"en": ("PURCHASE ORDER", "Purchase order", "ORDER", "Order confirmation", "Official order"),
                       "de": ("BESTELLUNG", "Bestellung", "Auftragsbestätigung", "Einkaufsbestellung"),
                       "fr": ("BON DE COMMANDE", "Commande", "Commande fournisseur"),
                       "es": ("ORDEN DE COMPRA", "Pedido", "Hoja de pedido"),
                       "nl": ("INKOOPORDER", "Bestelling", "Bestelbon", "Orderbevestiging"),
                       "it": ("ORDINE DI ACQUISTO", "Ordine fornitore", "Ordine", "Conferma d'ordine")},
    "delivery note": {"en": ("DELIVERY NOTE", "Delivery note", "Packing slip", "Dispatch note", "Goods received note",
                             "Packing list"),
                      "de": ("LIEFERSCHEIN", "Lieferschein", "Packliste"), "fr": ("BON DE LIVRAISON",
                      "Bordereau de livraison", "Bon d'expédition"), "es": ("ALBARÁN", "Albarán de entrega",
                      "Nota de entrega"), "nl": ("PAKBON", "Leveringsbon", "Afleverbon", "Vrachtbrief"),
                      "it": ("DOCUMENTO DI TRASPORTO", "DDT", "Bolla di consegna", "Documento di consegna")},
    "receipt": {"en": ("RECEIPT", "Receipt", "Payment receipt", "Sales receipt", "Till receipt"),
                "de": ("Kassenbon", "Quittung", "BELEG", "Kassenbeleg"), "fr": ("REÇU", "Ticket de caisse",
                "Reçu de paiement"), "es": ("RECIBO", "Ticket de compra", "Factura simplificada"),
                "nl": ("KASSABON", "Kwitantie", "Betaalbewijs"), "it": ("SCONTRINO", "Ricevuta",
                                                                        "Documento commerciale",
                "Ricevuta di pagamento")},
    "price list": {"en": ("PRICE LIST", "Price list", "Trade prices", "Wholesale tariff", "Trade price list"),
                   "de": ("PREISLISTE", "Preisliste", "Händlerpreisliste"), "fr": ("TARIFS", "Liste de prix",
                   "Tarif professionnel"), "es": ("LISTA DE PRECIOS", "Tarifa", "Tarifa de precios"),
                   "nl": ("PRIJSLIJST", "Prijslijst", "Tarieven", "Prijscourant"),
                   "it": ("LISTINO PREZZI", "Listino", "Listino rivenditori")},
    "contract": {"en": ("SUPPLY AGREEMENT", "Distribution agreement", "Lease agreement", "Service contract",
                        "Framework agreement", "AGREEMENT"),
                 "de": ("RAHMENVERTRAG", "Liefervertrag", "Mietvertrag", "Vertrag"),
                 "fr": ("CONTRAT DE FOURNITURE", "Contrat de distribution", "Bail commercial", "CONTRAT"),
                 "es": ("CONTRATO DE SUMINISTRO", "Contrato de arrendamiento", "CONTRATO"),
                 "nl": ("LEVERINGSOVEREENKOMST", "Raamovereenkomst", "Huurovereenkomst", "OVEREENKOMST"),
                 "it": ("CONTRATTO DI FORNITURA", "Contratto quadro", "Contratto di locazione", "CONTRATTO")},
}  # fmt: skip

_BUYER = ("the Buyer", "the Tenant", "Abnehmer", "l'Acheteur", "de Afnemer", "l'Acquirente")
_VALID_UNTIL = (
    "Valid until",
    "Gültig bis",
    "Valable jusqu'au",
    "Válido hasta",
    "Expiry date",
    "Geldig tot",
    "Valido fino al",
)
_VAT_EXEMPT = {
    "en": ("VAT 0% - reverse charge", "Zero-rated supply", "VAT exempt - export outside the UK",
           "No VAT: reverse charge"),
    "de": ("Steuerfreie innergemeinschaftliche Lieferung",
           "Reverse Charge - Steuerschuldnerschaft des Leistungsempfängers",
           "Umsatzsteuer 0 % (Ausfuhr)"),
    "fr": ("Autoliquidation - TVA due par le preneur", "Exonération de TVA, article 262 ter I du CGI", "TVA 0 %"),
    "es": ("Operación exenta de IVA (entrega intracomunitaria)", "Inversión del sujeto pasivo", "IVA 0 %"),
    "nl": ("BTW verlegd", "Intracommunautaire levering, 0% btw", "Btw 0%"),
    "it": ("Operazione non imponibile art. 41 DL 331/93", "Inversione contabile", "Esente IVA art. 8"),
}  # fmt: skip
_BICS = ("COBADEFFXXX", "BNPAFRPP", "CAIXESBBXXX", "NWBKGB2L", "HASPDEHHXXX", "RABONL2U", "UNCRITMM")
_DISCOUNT = ("Disc.", "Discount", "Rabatt", "Rab.", "Remise", "Dto.", "Korting", "Sconto", "Sc. %")
_PHONE = {"en": "Tel", "de": "Tel.", "fr": "Tél.", "es": "Tfno.", "nl": "Telefoon", "it": "Tel."}

Blocks = list[list[str]]
T = TypeVar("T")


class _Doc:
    """One document being written: its random source, language and the helpers its layouts share."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.lang = rng.choices(LANGUAGES, weights=(25, 15, 15, 15, 15, 15))[0]
        self.country = "uk" if self.lang == "en" and rng.random() < 0.7 else rng.choice(tuple(_STREETS))
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
        return self.say(_WORDS[key])

    def say(self, options: dict[str, Sequence[T]], english: float = 0.12) -> T:
        """One of `options[language]`: the document's language, English now and then (or when it has none)."""
        lang = "en" if self.rng.random() < english or self.lang not in options else self.lang
        return self.rng.choice(options[lang])

    def title(self, category: str) -> str:
        """The document's heading; export paperwork often gives it twice, in its language and in English."""
        lang = "en" if self.rng.random() < 0.1 else self.lang
        title = self.rng.choice(_TITLES[category][lang])
        if lang != "en" and self.rng.random() < 0.15:
            title = f"{title} / {self.rng.choice(_TITLES[category]['en'])}"
        return title

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
            "nl": ("januari", "februari", "maart", "april", "mei", "juni", "juli", "augustus", "september",
                   "oktober", "november", "december"),
            "it": ("gennaio", "febbraio", "marzo", "aprile", "maggio", "giugno", "luglio", "agosto", "settembre",
                   "ottobre", "novembre", "dicembre"),
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

    def money(self, value: float, signed: bool = False, plain: bool = False) -> str:
        sign = "-" if value < 0 else ""
        whole, cents = divmod(round(abs(value) * 100), 100)
        if self.money_style in (0, 1):
            text = f"{whole:,}.{cents:02d}"
        elif self.money_style in (2, 3):
            text = f"{whole:,}".replace(",", ".") + f",{cents:02d}"
        else:
            text = f"{whole}.{cents:02d}"
        text = sign + text if signed or sign else text
        if plain:
            return text
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
        """Item lines in one of several table layouts, and their net sum.

        Half the time a table as a PDF's text layer gives it: a header row of column names, then rows whose
        columns are padded with runs of spaces (the widths vary, as they do between programs).
        """
        if self.rng.random() < 0.5:
            return self._table(count, priced=priced, sign=sign)
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
            code = self.item_code()
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

    def item_code(self) -> str:
        prefix = self.pick(("TE", "CO", "PK", "CU", "AR", "SKU-", "GT-", "BL", "KF", "ART", "EM-", "T"))
        return f"{prefix}{self.rng.randint(10, 9999)}{self.pick(('', '', '-1K', '/250', 'B'))}"

    def _table(self, count: int, *, priced: bool, sign: int) -> tuple[list[str], float]:
        """A padded table: optional position and code columns, quantity, unit, prices, discount or VAT code."""
        with_pos, with_code = self.rng.random() < 0.4, self.rng.random() < 0.7
        with_unit, with_vat = self.rng.random() < 0.5, priced and self.rng.random() < 0.35
        with_discount = priced and self.rng.random() < 0.2
        qty_first = self.rng.random() < 0.4
        gap = " " * self.rng.randint(2, 6)
        width = self.rng.randint(26, 46)
        header = ["Pos." if with_pos else "", self.w("code") if with_code else ""]
        middle = [self.w("qty"), self.w("unit") if with_unit else ""]
        desc = [self.w("item").ljust(width)]
        header += middle + desc if qty_first else desc + middle
        if priced:
            header += [self.w("price"), self.pick(_DISCOUNT) if with_discount else ""]
            header += [self.pick(("VAT", "MwSt", "TVA", "IVA", "BTW", "%")) if with_vat else ""]
            header += [self.w("amount")]
        rows = [gap.join(cell for cell in header if cell)] if self.rng.random() < 0.85 else []
        net, step = 0.0, self.pick((1, 10))
        for index in range(count):
            name, unit, base = self.pick(_PRODUCTS)
            qty = self.rng.choice((1, 2, 3, 4, 5, 6, 8, 10, 12, 15, 20, 24, 25, 40, 50, 60, 100, 250, 500, 1000))
            price = round(base * self.rng.uniform(0.8, 1.3), 2)
            line_total = sign * qty * price
            net += line_total
            cells = [f"{(index + 1) * step:>3}" if with_pos else "", self.item_code() if with_code else ""]
            amount = [f"{qty:>5}", unit if with_unit else ""]
            label = [name.ljust(width)]
            cells += amount + label if qty_first else label + amount
            if priced:
                vat_code = self.pick(("S", "Z", "A", "B", "20%", "0%", "19", "7", "21", "22")) if with_vat else ""
                discount = self.pick(("-", "", "5%", "10%", "3 %", "2,5")) if with_discount else ""
                cells += [f"{self.money(price, plain=True):>9}", discount, vat_code]
                cells += [f"{self.money(line_total, plain=True):>10}"]
            rows.append(gap.join(cell for cell in cells if cell))
        return rows, net

    def totals(self, net: float, *, vat: bool = True) -> list[str]:
        """Net, tax (one rate, two rates, or an exemption sentence) and total, right-aligned half the time."""
        pad = " " * self.rng.randint(0, 40) if self.rng.random() < 0.5 else ""
        rate = self.pick((0.2, 0.19, 0.07, 0.1, 0.21, 0.055, 0.09, 0.22, 0.0)) if vat else 0.0
        lines = [f"{pad}{self.w('net')}: {self.money(net)}"] if vat else []
        if vat and rate == 0.0:
            lines.append(pad + self.say(_VAT_EXEMPT, english=0.2))
        elif vat:
            lines.append(f"{pad}{self.w('vat')}  {self.money(net * rate)}")
            if self.rng.random() < 0.2:
                lines.append(f"{pad}{self.w('vat')} 0%  {self.money(0.0)}")
        lines.append(f"{pad}{self.w('total')}: {self.money(net * (1 + rate))}")
        return lines

    def bank(self) -> list[str]:
        iban = f"{self.pick(('DE', 'GB', 'FR', 'ES', 'NL', 'IT'))}{self.rng.randint(10, 99)} " + " ".join(
            f"{self.rng.randint(0, 9999):04d}" for _ in range(4)
        )
        return [
            self.say(
                {
                    "en": ("Bank details", "Pay to", "Remittance details", "Our bank"),
                    "de": ("Bankverbindung", "Bankverbindung:"),
                    "fr": ("Coordonnées bancaires", "RIB"),
                    "es": ("Datos bancarios", "Cuenta bancaria"),
                    "nl": ("Bankgegevens", "Rekeningnummer"),
                    "it": ("Coordinate bancarie", "Banca d'appoggio"),
                }
            ),
            f"IBAN {iban}",
            f"BIC {self.pick(_BICS)}",
        ]

    def firm_ids(self, country: str | None = None) -> list[str]:
        """The registration and tax numbers a firm of `country` prints in its letterhead or footer."""
        r = self.rng.randint
        ids = {
            "uk": (f"VAT Reg No. GB {r(100, 999)} {r(1000, 9999)} {r(10, 99)}",
                   f"Company No. {r(1000000, 9999999):08d}",
                   "Registered in England and Wales", f"Registered office: {self.pick(_STREETS['uk'])}"),
            "de": (f"USt-IdNr. DE{r(100000000, 999999999)}", f"Amtsgericht {self.pick(('Hamburg', 'Köln', 'München'))} "
                   f"HRB {r(1000, 99999)}", f"Geschäftsführer: {self.person()}",
                   f"Steuernummer {r(10, 99)}/{r(100, 999)}/"
                   f"{r(10000, 99999)}"),
            "fr": (f"SIRET {r(100, 999)} {r(100, 999)} {r(100, 999)} {r(10000, 99999)}",
                   f"RCS {self.pick(('Paris', 'Lyon', 'Nantes'))} "
                   f"B {r(100, 999)} {r(100, 999)} {r(100, 999)}",
                   f"TVA intracommunautaire FR{r(10, 99)} {r(100000000, 999999999)}",
                   f"SAS au capital de {r(1, 50) * 10000} €", f"Code APE {r(1000, 4799)}Z"),
            "es": (f"CIF B{r(10000000, 99999999)}", f"NIF ES B{r(10000000, 99999999)}", f"Registro Mercantil de "
                   f"{self.pick(('Madrid', 'Zaragoza', 'Bizkaia'))}, Tomo {r(1000, 40000)}, Folio {r(1, 200)}, "
                   f"Hoja M-{r(10000, 999999)}"),
            "nl": (f"KvK {r(10000000, 99999999)}", f"BTW-nr. NL{r(100000000, 999999999)}B01",
                   f"Handelsregister KvK {self.pick(('Amsterdam', 'Utrecht', 'Eindhoven'))} {r(10000000, 99999999)}"),
            "it": (f"P.IVA IT{r(10000000000, 99999999999)}", f"C.F. {r(10000000000, 99999999999)}",
                   f"REA {self.pick(('MI', 'TO', 'BO', 'NA'))}-{r(100000, 999999)}",
                   f"Capitale sociale € {r(10, 500) * 1000},00 i.v."),
        }[country or self.country]  # fmt: skip
        return self.rng.sample(ids, self.rng.randint(1, min(3, len(ids))))

    def letterhead(self, firm: str | None = None) -> list[str]:
        """A sender's block: name, address, then some of phone, e-mail, web and tax numbers."""
        lines = self.address(firm)
        lines = [line for line in lines if not line.startswith("Attn.")]
        extra = [self.contact() for _ in range(self.rng.randint(0, 2))] + self.firm_ids()[: self.rng.randint(0, 2)]
        if self.rng.random() < 0.5:
            lines = [" · ".join(lines[:3]), *lines[3:]] if self.rng.random() < 0.5 else [", ".join(lines)]
        return lines + extra

    def legal_footer(self) -> list[str]:
        """The small print at the foot of a business document: ids, bank, managing director, page."""
        parts = self.firm_ids()
        if self.rng.random() < 0.5:
            parts.append(" ".join(self.bank()[1:]))
        if self.rng.random() < 0.3:
            parts.append(self.w("page"))
        if self.rng.random() < 0.5:
            return [" | ".join(parts)]
        return parts

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
                f"{_PHONE[self.lang]} +{self.rng.randint(30, 49)} {self.rng.randint(10, 999)} "
                f"{self.rng.randint(10000, 999999)}",
                f"KvK {self.rng.randint(10000000, 99999999)}",
                f"P.IVA {self.rng.randint(10000000000, 99999999999)}",
                f"E-mail: {self.pick(('info', 'amministrazione', 'verkoop', 'ventas', 'compta'))}@"
                f"{self.pick(('caffe-roma', 'theehuis', 'cafesdelsur', 'emballages-ouest'))}.example",
            )
        )


# ---------------------------------------------------------------- one generator per category


_INVOICE_FIELDS = {
    "number": {"en": ("Invoice No.", "Invoice number", "Invoice #", "Inv. no."), "de": ("Rechnungs-Nr.",
                                                                                        "Rechnungsnummer",
               "Rechnung Nr."), "fr": ("Facture n°", "N° de facture", "Numéro de facture"), "es": ("Nº factura",
               "Factura nº", "Número de factura"), "nl": ("Factuurnummer", "Factuurnr."), "it": ("Fattura n.",
               "Numero fattura", "N. fattura")},
    "date": {"en": ("Invoice date", "Date of invoice", "Tax point", "Date"), "de": ("Rechnungsdatum", "Datum",
             "Leistungsdatum"), "fr": ("Date de facture", "Date de facturation", "Date"), "es": ("Fecha factura",
             "Fecha de expedición", "Fecha"), "nl": ("Factuurdatum", "Datum"), "it": ("Data fattura", "Data", "del")},
    "customer": {"en": ("Customer no.", "Account no.", "Customer ID"), "de": ("Kunden-Nr.", "Kundennummer"),
                 "fr": ("Code client", "N° client"), "es": ("Código cliente", "Nº cliente"), "nl": ("Klantnummer",
                 "Debiteurnr."), "it": ("Cod. cliente", "Codice cliente")},
    "due": {"en": ("Due date", "Payment due", "Please pay by"), "de": ("Fällig am", "Zahlbar bis", "Fälligkeit"),
            "fr": ("Échéance", "Date d'échéance", "À régler avant le"), "es": ("Vencimiento", "Fecha de vencimiento"),
            "nl": ("Vervaldatum", "Te betalen voor"), "it": ("Scadenza", "Data scadenza")},
    "delivery": {"en": ("Delivery note", "Despatch no.", "Delivery date"), "de": ("Lieferschein", "Lieferdatum"),
                 "fr": ("Bon de livraison", "Date de livraison"), "es": ("Albarán", "Fecha de entrega"),
                 "nl": ("Pakbon", "Leverdatum"), "it": ("DDT n.", "Data consegna")},
}  # fmt: skip
_PAYMENT_TERMS = {
    "en": ("Payment terms: {days} days net", "Terms: strictly {days} days from invoice date",
           "Payment due within {days} "
           "days", "Please remit payment quoting our invoice number", "Overdue accounts may be charged interest",
           "Settlement by BACS or cheque payable to {firm}", "Payment due on receipt", "Amount payable within "
           "{days} days of the invoice date"),
    "de": ("Zahlbar innerhalb {days} Tagen ohne Abzug", "Zahlungsziel {days} Tage netto", "{days} Tage 2 % Skonto, 30 "
           "Tage netto", "Verwendungszweck: Rechnungsnummer", "Der Rechnungsbetrag wird "
           "per Lastschrift eingezogen"),
    "fr": ("Paiement à {days} jours date de facture", "Montant à régler sous {days} jours",
           "Règlement par virement à {days} jours fin de mois",
           "Pénalités de retard au taux légal en vigueur ; indemnité forfaitaire de recouvrement 40 €",
           "Escompte pour paiement anticipé : néant", "Conditions de paiement : {days} jours net"),
    "es": ("Forma de pago: transferencia a {days} días", "Importe a pagar en {days} días",
           "Condiciones de pago: {days} días fecha factura",
           "Pago mediante recibo domiciliado", "Rogamos indiquen el número de factura en la transferencia"),
    "nl": ("Betaling binnen {days} dagen na factuurdatum", "Het totaalbedrag dient binnen {days} dagen te zijn "
           "voldaan", "Gelieve het bedrag binnen {days} dagen over te maken",
           "Betalingstermijn: {days} dagen", "Vermeld bij betaling het factuurnummer", "Leveringsvoorwaarden: zie "
           "achterzijde"),
    "it": ("Pagamento: bonifico bancario {days} gg d.f.", "Modalità di pagamento: RiBa {days} gg f.m.",
           "Importo da pagare entro {days} giorni dalla data fattura", "Importo totale a Vostro debito",
           "Condizioni di pagamento: {days} giorni data fattura", "Si prega di indicare il numero di fattura nella "
           "causale del bonifico"),
}  # fmt: skip


# What invoices of each country print besides the figures: tax-law sentences, e-invoicing and reminders.
_INVOICE_NOTES = {
    "en": ("Invoice total includes all carriage charges", "This is a VAT invoice - please retain for your records",
           "Goods remain the property of the seller until paid in full", "Queries about this invoice must be raised "
           "within 7 days", "Remittance advice to accounts@ please", "Interest may be charged on late payment"),
    "de": ("Leistungszeitraum entspricht dem Lieferdatum", "Bitte begleichen Sie den Rechnungsbetrag fristgerecht",
           "Es gelten unsere Allgemeinen Geschäftsbedingungen", "Rechnung gilt ohne Unterschrift",
           "Eigentumsvorbehalt bis zur vollständigen Bezahlung"),
    "fr": ("Facture payable à réception", "Date de prestation : identique à la date de facture", "En cas de retard "
           "de paiement, des pénalités seront appliquées", "Clause de réserve de propriété", "Montant de la facture "
           "en euros"),
    "es": ("Importe de la factura en euros", "Factura sujeta a las condiciones generales de venta", "En caso de "
           "impago se aplicarán intereses de demora", "Conserve esta factura"),
    "nl": ("Factuurbedrag inclusief verzendkosten", "Bij niet tijdige betaling zijn wij genoodzaakt rente te "
           "berekenen", "Reclamaties binnen 8 dagen na factuurdatum", "Betaling per automatische incasso"),
    "it": ("Documento emesso in formato elettronico, trasmesso tramite SdI", "Codice destinatario SdI: {code}",
           "Copia di cortesia della fattura elettronica", "Bollo assolto in modo virtuale", "Interessi di mora ai "
           "sensi del D.Lgs. 231/2002", "PEC: amministrazione@pec.example"),
}  # fmt: skip


def _fields(d: _Doc, pairs: list[tuple[str, str]]) -> list[str]:
    """Labelled header fields ("Invoice date: 12/03/2024"), aligned in a column or run on a line."""
    if d.rng.random() < 0.25:
        return ["   ".join(f"{label} {value}" for label, value in pairs)]
    width = max(len(label) for label, _ in pairs) + d.rng.randint(1, 6)
    colon = d.pick((":", "", ":"))
    return [f"{label}{colon}".ljust(width) + value for label, value in pairs]


def _invoice(d: _Doc) -> Blocks:
    seller_name = d.firm()
    seller, buyer = d.letterhead(seller_name), d.address()
    items, net = d.lines_of_goods(d.rng.randint(1, 8))
    number = d.ref(("INV-", "RE-", "F", "FA-", "SI", "FV-", "A-", "FT/"))
    pairs = [(d.say(_INVOICE_FIELDS["number"]), number), (d.say(_INVOICE_FIELDS["date"]), d.when())]
    for key, value, chance in (
        ("customer", str(d.rng.randint(1000, 99999)), 0.5),
        ("delivery", d.ref(("DN-", "LS-", "BL", "ALB-", "DDT ")), 0.35),
        ("due", d.when(d.pick((14, 30, 60))), 0.5),
    ):
        if d.rng.random() < chance:
            pairs.append((d.say(_INVOICE_FIELDS[key]), value))
    if d.rng.random() < 0.6:
        pairs.append((d.w("order"), d.ref(("PO-", "B-", "BC", "PO "))))
    d.rng.shuffle(pairs)
    head = [d.title("invoice"), *_fields(d, pairs)]
    if d.rng.random() < 0.25:  # the number and date run together in the title line
        of = {"en": "of", "de": "vom", "fr": "du", "es": "de", "nl": "van", "it": "del"}[d.lang]
        head = [f"{d.title('invoice')} {d.w('no')} {number} {of} {d.when()}", *_fields(d, pairs[1:])]
    days = d.pick(("10", "14", "30", "45", "60"))
    terms = [d.say(_PAYMENT_TERMS).format(days=days, firm=seller_name) for _ in range(d.rng.randint(1, 2))]
    customer = [d.w("customer") + ":", *buyer]
    blocks = [seller, head, customer]
    if d.rng.random() < 0.3:
        blocks.append([d.w("delivery_to") + ":", *d.address()])
    if d.rng.random() < 0.5:
        code = "".join(d.pick("ABCDEFGHJKLMNPQRSTUVWXYZ0123456789") for _ in range(7))
        terms += [d.say(_INVOICE_NOTES).format(code=code) for _ in range(d.rng.randint(1, 2))]
    blocks += [items, d.totals(net), terms]
    if d.rng.random() < 0.85:
        blocks.append(d.bank())
    if d.rng.random() < 0.3:
        blocks.append([d.w("thanks")])
    if d.rng.random() < 0.5:
        blocks.append(d.legal_footer())
    return blocks


_CREDIT_REASONS = {
    "en": ("Reason: goods returned damaged", "Returned goods - broken in transit", "Price correction",
           "Short delivery, "
           "see delivery note", "Rebate for the last quarter", "Overcharged on invoice - agreed price applies",
           "Credit for faulty batch, collected by our driver"),
    "de": ("Retoure: beschädigte Ware", "Preisdifferenz laut Vereinbarung", "Mengendifferenz bei Anlieferung",
           "Bonus / Rückvergütung Vorjahr", "Rücknahme wegen Qualitätsmangel"),
    "fr": ("Marchandise retournée (casse)", "Remise accordée sur facture", "Erreur de prix sur facture",
           "Retour produits non conformes", "Ristourne annuelle"),
    "es": ("Devolución de mercancía defectuosa", "Rectificación de precio", "Abono por rotura en transporte",
           "Rappel anual por volumen"),
    "nl": ("Retour beschadigde goederen", "Prijscorrectie", "Creditering wegens manco bij levering",
           "Kwaliteitsklacht, goederen retour ontvangen", "Bonus op jaaromzet"),
    "it": ("Reso merce danneggiata", "Rettifica prezzo", "Storno parziale per merce non conforme",
           "Premio di fine anno", "Accredito per differenza di quantità"),
}  # fmt: skip
_CREDIT_ABOUT = {
    "en": ("relating to invoice {ref}", "Original invoice: {ref}", "We have credited your account for invoice {ref}",
           "Credit against invoice {ref}"),
    "de": ("zu Rechnung Nr. {ref}", "Bezug: Rechnung {ref}", "Korrektur zur Rechnung {ref}"),
    "fr": ("Réf. facture {ref}", "Facture d'origine : {ref}", "Annule et remplace partiellement la facture {ref}"),
    "es": ("Rectifica la factura {ref}", "Factura rectificada: {ref}", "Abono sobre factura {ref}"),
    "nl": ("Betreft factuur {ref}", "Creditering van factuur {ref}", "Oorspronkelijke factuur: {ref}"),
    "it": ("Rif. fattura n. {ref}", "A storno della fattura {ref}", "Fattura di riferimento: {ref}"),
}  # fmt: skip
_CREDIT_SETTLE = {
    "en": ("This amount will be deducted from your next invoice.", "The credit will be refunded to your account.",
           "Do not pay: this credit will be offset against open items.", "Credit balance carried forward."),
    "de": ("Der Betrag wird mit der nächsten Rechnung verrechnet.", "Wir erstatten den Betrag auf Ihr Konto.",
           "Der Gutschriftsbetrag wird Ihrem Kundenkonto gutgeschrieben."),
    "fr": ("Montant à déduire de votre prochain règlement.", "Cet avoir sera remboursé par virement.",
           "Avoir imputable sur vos prochaines factures."),
    "es": ("Importe a compensar en la próxima factura.", "Le reintegraremos el importe por transferencia."),
    "nl": ("Dit bedrag wordt verrekend met uw volgende factuur.", "Het bedrag wordt naar uw rekening teruggestort.",
           "U hoeft niets te betalen."),
    "it": ("L'importo sarà compensato con la prossima fattura.", "L'importo Vi sarà rimborsato tramite bonifico.",
           "Importo a Vostro credito."),
}  # fmt: skip


def _credit_note(d: _Doc) -> Blocks:
    items, net = d.lines_of_goods(d.rng.randint(1, 4), sign=-1 if d.rng.random() < 0.6 else 1)
    original = d.ref(("INV-", "RE-", "F", "FV-"))
    pairs = [(d.w("no"), d.ref(("CN-", "GS-", "AV", "CR", "NC-", "CF"))), (d.w("date"), d.when())]
    if d.rng.random() < 0.4:
        pairs.append((d.say(_INVOICE_FIELDS["customer"]), str(d.rng.randint(1000, 99999))))
    head = [d.title("credit note"), *_fields(d, pairs)]
    about = d.say(_CREDIT_ABOUT).format(ref=original)
    blocks = [d.letterhead(), head, [d.w("customer") + ":", *d.address()], [about, d.say(_CREDIT_REASONS)], items]
    blocks += [d.totals(net), [d.say(_CREDIT_SETTLE)]]
    if d.rng.random() < 0.4:
        blocks.append(d.legal_footer())
    return blocks


_PO_NOTES = {
    "en": ("Requested delivery date: {day}", "Please deliver by {day} to the goods entrance, Mon-Fri 8-16",
           "Please quote our PO number on your invoice and delivery note.", "Please confirm this order by return.",
           "We confirm your order as follows.", "Delivery terms: DAP our warehouse (Incoterms 2020)",
           "Please send certificates of analysis with the goods."),
    "de": ("Gewünschter Liefertermin: {day}", "Bitte bestätigen Sie den Auftrag.", "Bitte Bestellnummer auf "
           "Lieferschein und Rechnung angeben.", "Lieferung frei Haus bis {day}", "Hiermit bestellen wir zu Ihren "
           "bekannten Konditionen:"),
    "fr": ("Livraison souhaitée le {day}", "Merci de nous retourner l'accusé de réception.", "Merci de rappeler "
           "notre numéro de commande sur vos documents.", "Nous vous prions de bien vouloir nous livrer :"),
    "es": ("Fecha de entrega: {day}", "Rogamos confirmen el pedido.", "Nuestro nº de pedido debe "
           "figurar en todos los documentos.", "Les rogamos nos suministren lo siguiente:"),
    "nl": ("Gewenste leverdatum: {day}", "Graag een orderbevestiging retour.", "Vermeld ons ordernummer op pakbon "
           "en factuur.", "Hierbij bestellen wij het volgende:", "Levering: {day}, franco ons magazijn"),
    "it": ("Consegna richiesta entro il {day}", "Si prega di confermare l'ordine.", "Indicare il nostro numero "
           "d'ordine su DDT e fattura.", "Vi preghiamo di fornirci quanto segue:", "Resa: franco nostro magazzino"),
}  # fmt: skip
_SUPPLIER = {"en": ("Supplier", "Vendor", "To"), "de": ("Lieferant", "An"), "fr": ("Fournisseur",),
             "es": ("Proveedor",), "nl": ("Leverancier",), "it": ("Fornitore", "Spett.le")}  # fmt: skip


def _purchase_order(d: _Doc) -> Blocks:
    priced = d.rng.random() < 0.7
    items, net = d.lines_of_goods(d.rng.randint(1, 8), priced=priced)
    confirmation = d.rng.random() < 0.2
    pairs = [
        (d.pick(("PO", "Order", "Bestell-Nr.", "Commande", "Pedido", "Ordernummer", "Ordine n.")) + " " + d.w("no"),
         d.ref(("PO-", "B-", "BC", "OC-", "PO "))),
        (d.w("date"), d.when()),
    ]  # fmt: skip
    if d.rng.random() < 0.4:
        pairs.append((d.pick(("Buyer", "Einkäufer", "Acheteur", "Comprador", "Inkoper", "Buyer")), d.person()))
    head = [
        d.pick(("Order confirmation", "Auftragsbestätigung", "Confirmation de commande", "Orderbevestiging",
                "Conferma d'ordine")) if confirmation else d.title("purchase order"),
        *_fields(d, pairs),
    ]  # fmt: skip
    supplier = [d.say(_SUPPLIER) + ":", *d.address()]
    deliver = [d.w("delivery_to") + ":", *d.address()]
    notes = [d.say(_PO_NOTES).format(day=d.when(d.rng.randint(5, 20))) for _ in range(d.rng.randint(1, 3))]
    blocks = [d.letterhead(), head, supplier, deliver, items]
    if priced:
        blocks.append(d.totals(net, vat=d.rng.random() < 0.5))
    blocks.append(notes)
    if d.rng.random() < 0.4:
        blocks.append([f"{d.pick(('Authorised by', 'Buyer', 'Einkauf', 'Acheteur', 'Inkoop', 'Ufficio acquisti'))}: "
                       f"{d.person()}"])  # fmt: skip
    if d.rng.random() < 0.3:
        blocks.append(d.legal_footer())
    return blocks


_DELIVERY_SIGN = {
    "en": ("Goods received in good condition", "Received by (print name / signature):", "Please check the goods on "
           "arrival and note any damage on this note"),
    "de": ("Ware vollständig und unbeschädigt erhalten", "Empfang bestätigt:", "Transportschäden bitte sofort melden"),
    "fr": ("Reçu en bon état", "Réserves éventuelles :", "Cachet et signature du destinataire"),
    "es": ("Recibido conforme", "Firma y sello del receptor", "Mercancía revisada a la entrega"),
    "nl": ("Goederen in goede orde ontvangen", "Handtekening ontvanger:", "Schade direct melden aan de chauffeur"),
    "it": ("Merce ricevuta in buono stato", "Firma del destinatario", "Firma del vettore", "Causale del trasporto: "
           "vendita"),
}  # fmt: skip


def _delivery_note(d: _Doc) -> Blocks:
    if d.rng.random() < 0.4:  # ordered / delivered / outstanding columns
        columns = d.pick((("Ordered", "Delivered", "Outstanding"), ("Bestellt", "Geliefert", "Rückstand"),
                          ("Commandé", "Livré", "Reliquat"), ("Pedido", "Servido", "Pendiente"),
                          ("Besteld", "Geleverd", "Nalevering"), ("Ordinato", "Consegnato", "Residuo")))  # fmt: skip
        items = [f"{d.w('item'):<36}  " + "  ".join(columns)]
        for _ in range(d.rng.randint(1, 7)):
            name, unit, _ = d.pick(_PRODUCTS)
            ordered = d.rng.choice((2, 5, 10, 12, 20, 40, 60, 100, 500))
            sent = ordered if d.rng.random() < 0.75 else d.rng.randint(0, ordered)
            items.append(f"{d.item_code()}  {name:<30}  {ordered:>6} {unit}  {sent:>6}  {ordered - sent:>5}")
    else:
        items, _ = d.lines_of_goods(d.rng.randint(1, 8), priced=d.rng.random() < 0.15)
    pairs = [(d.w("no"), d.ref(("DN-", "LS-", "BL", "ALB-", "PB-", "DDT "))), (d.w("date"), d.when())]
    if d.rng.random() < 0.7:
        pairs.append((d.w("order"), d.ref(("PO-", "B-", "BC", "PO "))))
    head = [d.title("delivery note"), *_fields(d, pairs)]
    refs = []
    if d.rng.random() < 0.3:
        refs.append(d.pick(("Invoice to follow", "Rechnung folgt", "Facture suivra", "Factura a continuación",
                            "Factuur volgt", "Fattura a seguire")))  # fmt: skip
    shipping = [
        f"{d.pick(('Pallets', 'Paletten', 'Palettes', 'Palés', 'Pallets', 'Bancali'))}: {d.rng.randint(1, 6)}",
        f"{d.pick(('Cartons', 'Kartons', 'Colis', 'Bultos', 'Colli', 'Packages'))}: {d.rng.randint(2, 80)}",
        f"{d.pick(('Gross weight', 'Gewicht', 'Poids brut', 'Peso', 'Gewicht bruto', 'Peso lordo'))}: "
        f"{d.rng.randint(5, 900)} kg",
        f"{d.pick(('Carrier', 'Spedition', 'Transporteur', 'Transportista', 'Vervoerder', 'Vettore'))}: "
        f"{d.pick(('DHL Freight', 'DB Schenker', 'Geodis', 'SEUR', 'Palletways', 'own van', 'PostNL', 'BRT', 'DSV'))}",
    ]
    d.rng.shuffle(shipping)
    sign = [
        d.say(_DELIVERY_SIGN),
        f"{d.pick(('Signature', 'Unterschrift', 'Signature du client', 'Firma', 'Handtekening', 'Firma'))}: ______  "
        f"{d.person()}",
    ]
    blocks = [d.letterhead(), head, [d.w("delivery_to") + ":", *d.address()], refs, items]
    blocks += [shipping[: d.rng.randint(1, 4)], sign]
    if d.rng.random() < 0.3:
        blocks.append(d.legal_footer())
    return blocks


_RECEIVED = {
    "en": ("Received with thanks from {firm} the sum of {amount}", "Payment of {amount} received, thank you",
           "We acknowledge receipt of {amount} from {firm}"),
    "de": ("Betrag von {amount} dankend erhalten", "Von {firm} erhalten: {amount}", "Quittung über {amount}"),
    "fr": ("Reçu de {firm} la somme de {amount}", "Nous accusons réception de votre paiement de {amount}"),
    "es": ("Recibí de {firm} la cantidad de {amount}", "Hemos recibido su pago de {amount}"),
    "nl": ("Ontvangen van {firm} het bedrag van {amount}", "Voor voldaan: {amount}", "Betaling van {amount} ontvangen"),
    "it": ("Ricevuto da {firm} l'importo di {amount}", "Per quietanza: {amount}", "Si conferma l'incasso di {amount}"),
}  # fmt: skip
_RECEIPT_EXTRA = {
    "en": ("This receipt is your proof of payment.", "Balance outstanding: nil", "Paid in full - with thanks"),
    "de": ("Betrag dankend erhalten.", "Der Betrag wurde vollständig beglichen.", "Restbetrag: 0,00"),
    "fr": ("Pour acquit.", "Solde restant dû : néant", "Paiement intégral reçu"),
    "es": ("Pagado en su totalidad.", "Este recibo sirve como justificante de pago.", "Queda saldada la deuda."),
    "nl": ("Voor voldaan.", "Het bedrag is volledig ontvangen.", "Openstaand saldo: nihil"),
    "it": ("Per quietanza.", "Importo interamente saldato.", "La presente vale come ricevuta di pagamento."),
}  # fmt: skip
_CARDS = ("VISA", "Mastercard", "Maestro", "AMEX", "girocard", "CB", "V PAY")
_TILL_WORDS = {
    "till": ("Till", "Kasse", "Caisse", "Caja", "Kassa", "Cassa", "POS"),
    "cashier": ("Cashier", "Bediener", "Vendeur", "Cajero", "Kassier", "Operatore", "Served by"),
    "change": ("Change", "Rückgeld", "Rendu", "Cambio", "Wisselgeld", "Resto"),
    "cash": ("Cash", "Bar", "Espèces", "Efectivo", "Contant", "Contanti"),
    "card": ("Paid by card", "Karte", "Carte bancaire", "Tarjeta", "PIN", "Bancomat", "Contactless"),
    "end": ("Thank you for your purchase", "Vielen Dank für Ihren Einkauf", "Merci de votre visite",
            "Gracias por su compra", "Bedankt en tot ziens", "Grazie e arrivederci", "Please keep this receipt for "
            "returns", "Customer copy", "Kundenbeleg", "Ticket client", "Copia cliente"),
}  # fmt: skip


def _receipt(d: _Doc) -> Blocks:
    if d.rng.random() < 0.3:  # a payment receipt for an invoice, written like a letter
        amount = d.money(d.rng.uniform(40, 4000))
        return [
            d.address(),
            [d.title("receipt"), f"{d.w('no')} {d.ref(('R-', 'RC', 'Q-'))}", f"{d.w('date')}: {d.when()}"],
            [
                d.say(_RECEIVED).format(firm=d.firm(), amount=amount),
                d.pick(
                    (
                        f"in payment of invoice {d.ref(('INV-', 'RE-', 'F'))}",
                        "for goods supplied",
                        "Paid in cash",
                        "Payment method: bank transfer",
                        "Bar bezahlt",
                        "Contant voldaan",
                        "Pagato in contanti",
                    )
                ),
            ],
            [f"{d.pick(('Signed', 'Unterschrift', 'Signé', 'Firmado', 'Handtekening', 'Firma'))}: {d.person()}"],
            [d.say(_RECEIPT_EXTRA)] if d.rng.random() < 0.6 else [],
        ]
    rows, net = [], 0.0
    for _ in range(d.rng.randint(1, 9)):  # till lines: short names, often upper case, the price at the right
        name, _, base = d.pick(_PRODUCTS)
        qty = d.rng.choice((1, 1, 1, 2, 3, 6))
        price = round(base * d.rng.uniform(0.3, 1.2), 2)
        net += qty * price
        label = name[: d.rng.randint(12, 24)]
        label = label.upper() if d.rng.random() < 0.6 else label
        if qty > 1 and d.rng.random() < 0.6:
            rows.append(f"{label}  {qty} x {d.money(price, plain=True)}   {d.money(qty * price, plain=True)}")
        else:
            rows.append(f"{label:<26}{d.money(qty * price, plain=True):>9}{d.pick(('', ' A', ' B', ' S', ' 1'))}")
    till = [
        f"{d.pick(_TILL_WORDS['till'])} {d.rng.randint(1, 9)}  {d.pick(_TILL_WORDS['cashier'])}: {d.pick(_FIRST)}",
        f"{d.when()} {d.rng.randint(7, 20):02d}:{d.rng.randint(0, 59):02d}",
    ]
    if d.rng.random() < 0.4:
        till.append(f"{d.pick(('Bon', 'Beleg-Nr.', 'Ticket', 'Trans.', 'Scontrino n.'))} {d.rng.randint(1000, 999999)}")
    card = f"{d.pick(_CARDS)} ****{d.rng.randint(1000, 9999)}"
    cash = net + d.rng.randint(1, 20)
    paid = [
        f"{d.pick(('TOTAL', 'SUMME', 'TOTAAL', 'TOTALE', 'BALANCE DUE', 'A PAGAR'))} {d.money(net)}",
        d.pick(
            (
                f"{d.pick(_TILL_WORDS['card'])} {card}",
                f"{d.pick(_TILL_WORDS['cash'])} {d.money(cash)}  {d.pick(_TILL_WORDS['change'])} {d.money(cash - net)}",
                "Paid online - PayPal",
                f"Transaction approved  Auth code {d.rng.randint(100000, 999999)}",
            )
        ),
        d.pick(
            (
                "VAT included",
                "inkl. MwSt.",
                "TVA incluse",
                "IVA incluido",
                "incl. btw",
                "IVA inclusa",
                f"{d.w('vat')} incl.",
            )
        ),
    ]
    if d.rng.random() < 0.4:
        paid.append(f"{d.pick(('Items', 'Artikel', 'Articles', 'Artículos', 'Artikelen', 'Pezzi'))}: {len(rows)}")
    shop = [d.firm(), d.address()[1]]
    if d.rng.random() < 0.4:
        shop.append(d.pick(d.firm_ids()))
    return [shop, [d.title("receipt")] if d.rng.random() < 0.5 else [], till, rows, paid, [d.pick(_TILL_WORDS["end"])]]


_SECTIONS = (
    ("Black tea", "Schwarzer Tee", "Thés noirs", "Té negro", "Zwarte thee", "Tè nero"),
    ("Green tea", "Grüner Tee", "Thés verts", "Té verde", "Groene thee", "Tè verde"),
    ("Herbal infusions", "Kräutertee", "Infusions", "Infusiones", "Kruidenthee", "Infusi"),
    ("Coffee", "Kaffee", "Cafés", "Café", "Koffie", "Caffè"),
    ("Packaging", "Verpackung", "Emballages", "Envases", "Verpakking", "Imballaggi"),
    ("Cups and lids", "Becher und Deckel", "Gobelets", "Vasos y tapas", "Bekers en deksels", "Bicchieri e coperchi"),
    ("Accessories", "Zubehör", "Accessoires", "Accesorios", "Accessoires", "Accessori"),
)
_PRICE_HEADS = {
    "en": ("Valid from {day}", "Prices effective {day} until further notice", "Effective {day} - supersedes all "
           "previous lists", "Season {year}", "Prices per unit, ex VAT, valid from {day}"),
    "de": ("Gültig ab {day}", "Stand: {day}", "Preise gültig ab {day} bis auf Widerruf", "Saison {year}"),
    "fr": ("Tarifs applicables au {day}", "Prix valables à compter du {day}", "Tarif {year}"),
    "es": ("Precios válidos desde {day}", "Tarifa vigente a partir del {day}", "Temporada {year}"),
    "nl": ("Geldig vanaf {day}", "Prijzen per {day}, onder voorbehoud", "Prijslijst {year}"),
    "it": ("Valido dal {day}", "Prezzi in vigore dal {day}", "Listino {year}"),
}  # fmt: skip
_PRICE_NOTES = {
    "en": ("All prices exclusive of VAT, ex works.", "Subject to change without notice. E&OE.", "Minimum order value "
           "{money}", "Orders before 2 pm ship the same day", "Carriage free over {money}", "Volume discounts on "
           "request"),
    "de": ("Preise zzgl. gesetzl. MwSt., ab Lager.", "Mindestbestellwert {money}", "Frachtfrei ab {money} "
           "Warenwert", "Irrtümer und Preisänderungen vorbehalten."),
    "fr": ("Prix HT, franco à partir de {money}.", "Commande minimum {money}", "Tarif susceptible de modification.",
           "Remise de quantité sur demande."),
    "es": ("Precios sin IVA.", "Portes pagados a partir de {money}.", "Pedido mínimo {money}", "Precios sujetos a "
           "cambios sin previo aviso."),
    "nl": ("Alle prijzen excl. btw, af magazijn.", "Franco levering vanaf {money}", "Minimale orderwaarde {money}",
           "Prijswijzigingen voorbehouden."),
    "it": ("Prezzi IVA esclusa, franco partenza.", "Ordine minimo {money}", "Porto franco oltre {money}",
           "Listino soggetto a variazioni."),
}  # fmt: skip
_TIERS = {"en": "from", "de": "ab", "fr": "dès", "es": "desde", "nl": "vanaf", "it": "da"}


def _price_list(d: _Doc) -> Blocks:
    tiers = d.rng.random() < 0.4
    sections = d.rng.random() < 0.5
    word = _TIERS[d.lang] if d.rng.random() < 0.8 else "from"
    step = d.pick((5, 10, 25))
    table: list[str] = []
    if d.rng.random() < 0.7:
        columns = [d.w("code"), d.w("item").ljust(30), d.w("unit"), d.w("price")]
        if tiers:
            columns += [f"{word} {step}", f"{word} {step * 5}"]
        table.append("   ".join(columns))
    for index in range(d.rng.randint(4, 18)):
        if sections and (index == 0 or d.rng.random() < 0.2):
            table.append(d.pick(_SECTIONS)[LANGUAGES.index(d.lang)].upper())
        name, unit, base = d.pick(_PRODUCTS)
        price = base * d.rng.uniform(0.8, 1.3)
        code = d.item_code()
        if tiers:
            table.append(
                f"{code}  {name:<32}{unit:<8}{d.money(price, plain=True):>9}  {d.money(price * 0.93, plain=True):>9}  "
                f"{d.money(price * 0.86, plain=True):>9}"
            )
        else:
            table.append(
                d.pick(
                    (
                        f"{code}  {name:<34}{unit:<8}{d.money(price):>12}",
                        f"{name} ... {d.money(price)} per {unit}",
                        f"{code}   {name}   {d.money(price)} / {unit}",
                    )
                )
            )
    head = [d.title("price list"), d.say(_PRICE_HEADS).format(day=d.when(), year=d.day.year)]
    if d.rng.random() < 0.25:  # an offer for one customer reads much like a price list
        offer = d.pick(("Quotation for", "Angebot für", "Offre pour", "Oferta para", "Offerte voor", "Offerta per"))
        head.insert(1, f"{offer} {d.firm()}")
    money = d.money(d.pick((100, 150, 250, 300, 500)))
    notes = [d.say(_PRICE_NOTES).format(money=money) for _ in range(d.rng.randint(1, 3))]
    blocks = [d.letterhead(), head, table, notes]
    if d.rng.random() < 0.3:
        blocks.append(d.legal_footer())
    return blocks


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
        "nl": (
            "Artikel 1 - Onderwerp: Leverancier levert aan Afnemer thee, koffie en verpakkingen op afroep.",
            f"Artikel 2 - Looptijd: deze overeenkomst gaat in op {d.when()} en geldt voor onbepaalde tijd.",
            "Artikel 3 - Prijzen: de prijzen volgens de geldende prijslijst; betaling binnen 30 dagen.",
            "Artikel 4 - Opzegging: met inachtneming van een opzegtermijn van drie maanden.",
            "Artikel 5 - Toepasselijk recht: op deze overeenkomst is Nederlands recht van toepassing.",
            "Artikel 6 - Geschillen worden voorgelegd aan de bevoegde rechter.",
        ),
        "it": (
            "Art. 1 - Oggetto: il Fornitore si impegna a fornire i prodotti ordinati dal Cliente.",
            f"Art. 2 - Durata: il presente contratto decorre dal {d.when()} e ha durata di un anno, "
            "con rinnovo tacito.",
            "Art. 3 - Prezzi e pagamenti: secondo il listino in vigore; pagamento a 60 giorni data fattura.",
            "Art. 4 - Recesso: ciascuna parte può recedere con preavviso di tre mesi a mezzo raccomandata A/R.",
            "Art. 5 - Foro competente: per ogni controversia è competente il Foro di Milano.",
            "Art. 6 - Riservatezza: le parti si obbligano a mantenere riservate le condizioni del contratto.",
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
        d.pick(("between", "zwischen", "entre", "entre", "tussen", "tra")),
        f"{a}, {d.address(a)[1]} ({d.pick(('the Supplier', 'the Landlord', 'Lieferant', 'le Fournisseur'))})",
        d.pick(("and", "und", "et", "y", "en", "e")),
        f"{b} ({d.pick(_BUYER)})",
    ]
    signatures = [
        f"{d.pick(('Signed', 'Ort, Datum', 'Fait à', 'Firmado en', 'Getekend te', 'Letto, approvato e sottoscritto'))} "
        f"{d.pick(('Hamburg', 'Paris', 'Bristol', 'Madrid'))}, {d.when()}",
        f"{d.person()} ______    {d.person()} ______",
    ]
    blocks = [[d.title("contract")], parties, clauses, signatures]
    if d.rng.random() < 0.3:
        blocks.append([d.w("page")])
    return blocks


_ANALYSIS = {
    # (parameter names per language), method, limit, a result maker
    "moisture": (("Moisture", "Wassergehalt", "Humidité", "Humedad", "Vochtgehalte", "Umidità"), "ISO 1573", "max. 8 %",
                 lambda r: f"{r.uniform(3, 7.9):.1f} %"),
    "ash": (("Total ash", "Gesamtasche", "Cendres totales", "Cenizas totales", "Totaal as", "Ceneri totali"),
            "ISO 1575", "4 - 8 %", lambda r: f"{r.uniform(4, 8):.1f} %"),
    "caffeine": (("Caffeine", "Koffein", "Caféine", "Cafeína", "Cafeïne", "Caffeina"), "HPLC", "-",
                 lambda r: f"{r.uniform(0.02, 3.5):.2f} %"),
    "tpc": (("Total plate count", "Gesamtkeimzahl", "Flore aérobie totale", "Recuento de aerobios",
             "Totaal kiemgetal", "Carica batterica totale"), "ISO 4833-1", "< 10^5 cfu/g",
            lambda r: f"{r.randint(1, 9)}.{r.randint(0, 9)} x 10^{r.randint(2, 4)} cfu/g"),
    "moulds": (("Yeasts and moulds", "Hefen und Schimmelpilze", "Levures et moisissures", "Mohos y levaduras",
                "Gisten en schimmels", "Lieviti e muffe"), "ISO 21527", "< 10^4 cfu/g",
               lambda r: f"< {r.choice((10, 100))} cfu/g"),
    "salmonella": (("Salmonella", "Salmonellen", "Salmonelles", "Salmonela", "Salmonella", "Salmonella"),
                   "ISO 6579-1", "n.d. / 25 g", lambda r: r.choice(("not detected", "n.n.", "absent", "negativo",
                   "niet aangetoond", "assente"))),
    "pesticides": (("Pesticide residues", "Pflanzenschutzmittelrückstände", "Résidus de pesticides",
                    "Residuos de plaguicidas", "Residuen bestrijdingsmiddelen", "Residui di fitofarmaci"),
                   "GC-MS/MS, LC-MS/MS", "Reg. (EC) 396/2005", lambda r: r.choice(("compliant", "< LOQ",
                   "conforme", "i.O.", "voldoet"))),
    "lead": (("Lead (Pb)", "Blei", "Plomb", "Plomo", "Lood", "Piombo"), "ICP-MS", "max. 5 mg/kg",
             lambda r: f"{r.uniform(0.05, 1.5):.2f} mg/kg"),
    "ota": (("Ochratoxin A", "Ochratoxin A", "Ochratoxine A", "Ocratoxina A", "Ochratoxine A", "Ocratossina A"),
            "HPLC-FLD", "max. 5 µg/kg", lambda r: f"{r.uniform(0.2, 3):.1f} µg/kg"),
    "migration": (("Overall migration", "Gesamtmigration", "Migration globale", "Migración global",
                   "Globale migratie", "Migrazione globale"), "EN 1186", "max. 10 mg/dm²",
                  lambda r: f"{r.uniform(0.5, 6):.1f} mg/dm²"),
    "foreign": (("Foreign matter", "Fremdbestandteile", "Corps étrangers", "Materias extrañas", "Vreemde bestanddelen",
                 "Corpi estranei"), "visual", "absent", lambda r: r.choice(("absent", "keine", "néant", "ausente",
                 "afwezig", "assenti"))),
}  # fmt: skip
_ANALYSIS_HEAD = (
    ("Parameter", "Method", "Specification", "Result"),
    ("Prüfparameter", "Methode", "Grenzwert", "Ergebnis"),
    ("Paramètre", "Méthode", "Spécification", "Résultat"),
    ("Parámetro", "Método", "Especificación", "Resultado"),
    ("Parameter", "Methode", "Specificatie", "Resultaat"),
    ("Parametro", "Metodo", "Limite", "Risultato"),
)
_ANALYSIS_TITLE = (
    ("CERTIFICATE OF ANALYSIS", "Certificate of Analysis", "Analysis certificate", "Test report"),
    ("ANALYSENZERTIFIKAT", "Analysenzertifikat", "Prüfbericht", "Analysenbericht"),
    ("CERTIFICAT D'ANALYSE", "Certificat d'analyse", "Bulletin d'analyse", "Rapport d'essai"),
    ("CERTIFICADO DE ANÁLISIS", "Certificado de análisis", "Informe de ensayo", "Boletín de análisis"),
    ("ANALYSECERTIFICAAT", "Analysecertificaat", "Certificaat van analyse", "Analyserapport"),
    ("CERTIFICATO DI ANALISI", "Certificato di analisi", "Rapporto di prova", "Bollettino di analisi"),
)
_ANALYSIS_FIELDS = (
    ("Product", "Batch", "Best before", "Sample date"),
    ("Produkt", "Charge", "MHD", "Probenahme"),
    ("Produit", "Lot", "DDM", "Date de prélèvement"),
    ("Producto", "Lote", "Consumo preferente", "Fecha de muestreo"),
    ("Product", "Partij", "THT", "Monsterdatum"),
    ("Prodotto", "Lotto", "TMC", "Data campionamento"),
)
_ANALYSIS_VERDICT = (
    ("Conclusion: the batch conforms to the specification.", "Result: complies", "Released for sale",
     "Results apply to the sample as received."),
    ("Beurteilung: Die Probe entspricht der Spezifikation.", "Ergebnis: i.O.", "Freigegeben",
     "Die Ergebnisse beziehen sich nur auf die geprüfte Probe."),
    ("Conclusion : lot conforme au cahier des charges.", "Résultat : conforme", "Lot libéré",
     "Les résultats ne concernent que l'échantillon analysé."),
    ("Conclusión: el lote es conforme.", "Resultado: conforme", "Lote liberado",
     "Los resultados se refieren solo a la muestra analizada."),
    ("Conclusie: de partij voldoet aan de specificatie.", "Resultaat: goedgekeurd", "Vrijgegeven",
     "De resultaten hebben alleen betrekking op het onderzochte monster."),
    ("Conclusione: il lotto è conforme alla specifica.", "Esito: conforme", "Lotto rilasciato",
     "I risultati si riferiscono esclusivamente al campione analizzato."),
)  # fmt: skip


_CERTIFICATE_NO = (
    "Certificate no.", "Zertifikat Nr.", "Certificat n°", "Certificado nº", "Certificaat nr.", "Certificato n.",
)  # fmt: skip
_ANALYSTS = ("Quality Manager", "QA", "Leiter QS", "Responsable qualité", "Laboratorio", "Kwaliteitsdienst")


def _analysis_certificate(d: _Doc) -> Blocks:
    """A certificate of analysis: product and batch, a table of parameters, methods, limits and results."""
    lang = LANGUAGES.index(d.lang if d.rng.random() < 0.85 else "en")
    fields = _ANALYSIS_FIELDS[lang]
    pairs = [
        (fields[0], d.pick(_PRODUCTS)[0]),
        (fields[1], d.ref(("L", "LOT-", "CH", "B"))),
        (fields[2], d.when(d.rng.randint(300, 1100))),
        (fields[3], d.when(-d.rng.randint(1, 10))),
    ]
    if d.rng.random() < 0.5:
        pairs.append((d.w("no"), d.ref(("QA-", "PB-", "CoA-", "RP "))))
    if d.rng.random() < 0.4:
        pairs.append((d.w("customer"), d.firm()))
    rows = []
    head = _ANALYSIS_HEAD[lang]
    methods = d.rng.random() < 0.7
    rows.append("   ".join(h for h in (head[0].ljust(30), head[1] if methods else "", head[2], head[3]) if h))
    for key in d.rng.sample(sorted(_ANALYSIS), d.rng.randint(3, 9)):
        names, method, limit, result = _ANALYSIS[key]
        cells = (names[lang].ljust(30), method.ljust(18) if methods else "", limit.ljust(16), result(d.rng))
        rows.append("  ".join(c for c in cells if c))
    verdict = [d.pick(_ANALYSIS_VERDICT[lang]) for _ in range(d.rng.randint(1, 2))]
    signed = [f"{d.person()}, {d.pick(_ANALYSTS)}"]
    return [d.letterhead(), [d.pick(_ANALYSIS_TITLE[lang])], _fields(d, pairs), rows, verdict, signed]


def _certificate(d: _Doc) -> Blocks:
    if d.rng.random() < 0.4:
        return _analysis_certificate(d)
    kind = d.rng.randrange(5)
    holder = d.firm()
    valid = f"{d.pick(_VALID_UNTIL)}: {d.when(365)}"
    number = f"{d.pick(_CERTIFICATE_NO)} "
    number += d.ref(("C-", "ZE", "CERT"))
    if kind == 0:
        body = [
            d.pick(
                (
                    "CERTIFICATE",
                    "Organic certificate",
                    "Bio-Zertifikat",
                    "Certificat biologique",
                    "Biologisch certificaat",
                    "Certificato biologico",
                    "Certificado ecológico",
                )
            ),
            d.pick(
                (
                    "according to Regulation (EU) 2018/848 on organic production",
                    "gemäß Verordnung (EU) 2018/848",
                    "conformément au règlement (UE) 2018/848",
                    "conforme al Reglamento (UE) 2018/848",
                    "overeenkomstig Verordening (EU) 2018/848",
                    "ai sensi del Regolamento (UE) 2018/848",
                )
            ),
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
            d.pick(
                (
                    "Declaration of conformity",
                    "Konformitätserklärung",
                    "Certificate of compliance",
                    "Déclaration de conformité",
                    "Conformiteitsverklaring",
                    "Dichiarazione di conformità",
                    "Declaración de conformidad",
                )
            ),
            f"for {d.pick(('paper cups', 'lids', 'kraft pouches', 'tea caddies'))} intended to touch food",
            "We hereby declare that the articles comply with Regulation (EC) No 1935/2004 and (EU) No 10/2011.",
            "Overall migration tested, results within limits",
        ]
    if d.rng.random() < 0.3:
        body.append(d.pick(("Renewal", "This certificate replaces the previous one", "Verlängerung", "Renouvellement")))
    issuer = [
        f"{d.pick(('Issued by', 'Ausgestellt von', 'Délivré par', 'Emitido por', 'Uitgegeven door', 'Rilasciato da'))} "
        f"{d.pick(('Kiwa BCS', 'Ecocert', 'SGS', 'TÜV Nord', 'Lloyds Register', 'Allianz', 'AXA'))}",
        f"{d.w('date')}: {d.when()}",
    ]
    blocks = [body[:1], body[1:], [number, valid], issuer]
    if d.rng.random() < 0.4:
        blocks.insert(0, d.letterhead())
    return blocks


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
    other["nl"] = (
        (
            f"Betalingsherinnering factuur {inv}",
            "volgens onze administratie staat de factuur nog open. Wilt u het bedrag binnen 8 dagen overmaken?",
        ),
        (
            f"Vertraging order {po}",
            "helaas wordt uw bestelling ongeveer een week later geleverd dan gepland. Onze excuses voor het ongemak.",
        ),
        (
            "Prijsaanpassing",
            "door gestegen inkoopkosten passen wij per volgende maand onze prijzen aan. De nieuwe prijslijst volgt.",
        ),
        ("Klacht levering", "bij de laatste levering waren meerdere dozen beschadigd. Graag ontvangen wij vervanging."),
        ("Verzoek certificaten", "voor onze audit hebben wij uw geldige biocertificaat nodig. Alvast bedankt."),
        (
            "Afspraak volgende week",
            "zoals besproken komen wij graag langs om de nieuwe oogst te proeven. Past dinsdag om tien uur?",
        ),
    )
    other["it"] = (
        (
            f"Sollecito fattura {inv}",
            "dai nostri controlli la fattura risulta ancora insoluta. Vi preghiamo di "
            "provvedere al saldo entro 7 giorni.",
        ),
        (
            f"Ritardo ordine {po}",
            "purtroppo la consegna del Vostro ordine subirà un ritardo di circa una settimana. "
            "Ci scusiamo per il disagio.",
        ),
        (
            "Aggiornamento prezzi",
            "a causa dell'aumento dei costi delle materie prime, dal mese prossimo i nostri "
            "prezzi subiranno un adeguamento.",
        ),
        (
            "Reclamo consegna",
            "alcuni cartoni sono arrivati danneggiati. Vi chiediamo la sostituzione o una nota di credito.",
        ),
        (
            "Richiesta certificati",
            "per il nostro audit annuale ci servirebbe il Vostro certificato biologico in corso di validità.",
        ),
        (
            "Visita e degustazione",
            "grazie per la disponibilità al telefono. Saremmo lieti di incontrarVi per "
            "presentare le novità della stagione.",
        ),
    )
    subject, body = d.pick(other[d.lang]) if d.lang in other and d.rng.random() < 0.8 else en[topic]
    greeting = d.pick(_WORDS["dear"][d.lang]).format(name=name, first=first)
    sender = d.person()
    email = d.rng.random() < 0.55
    blocks: Blocks = []
    if email:
        fold = _ascii(sender.lower().replace(" ", ".").replace("'", ""))
        blocks.append(
            [
                f"{d.pick(('From', 'Von', 'De', 'Van', 'Da'))}: {sender} "
                f"<{fold}@{d.pick(('greenleaf', 'teehaus'))}.example>",
                f"{d.pick(('To', 'An', 'À', 'Para', 'Aan', 'A'))}: "
                f"{_ascii(name.lower().replace(' ', '.'))}@example.com",
                f"{d.pick(('Sent', 'Gesendet', 'Envoyé', 'Enviado', 'Verzonden', 'Inviato', 'Date'))}: {d.when()} "
                f"{d.rng.randint(7, 19)}:{d.rng.randint(0, 59):02d}",
                f"{d.pick(('Subject', 'Betreff', 'Objet', 'Asunto', 'Onderwerp', 'Oggetto'))}: {subject}",
            ]
        )
    else:
        blocks.extend(
            [
                d.letterhead(),
                d.address(),
                [f"{d.pick(('Hamburg', 'Bristol', 'Paris', 'Madrid', 'Utrecht', 'Torino'))}, {d.when()}"],
            ]
        )
        blocks.append([subject])
    blocks.append([greeting, body])
    if d.rng.random() < 0.3:
        blocks.append([d.pick(("Attachment: scan.pdf", "Anlage: Preisliste.pdf", "PJ : certificat.pdf", "Adjunto"))])
    blocks.append([d.w("regards") + ",", sender, d.firm()])
    if email and d.rng.random() < 0.3:  # a quoted earlier message under the reply
        blocks.append(["-----Original Message-----", f"{d.pick(('From', 'Von', 'De', 'Van', 'Da'))}: {name}",
                       d.pick(en)[1]])  # fmt: skip
    elif not email and d.rng.random() < 0.4:
        blocks.append(d.legal_footer())
    return blocks


_BOOKINGS = (
    "SEPA transfer", "Card payment", "Direct debit", "Lastschrift", "Virement", "Overboeking", "Incasso", "Bonifico",
    "Addebito SDD", "Transferencia",
)  # fmt: skip
_BALANCES = (
    ("Opening balance", "Alter Saldo", "Solde précédent", "Saldo anterior", "Beginsaldo", "Saldo iniziale"),
    ("Closing balance", "Neuer Saldo", "Nouveau solde", "Saldo final", "Eindsaldo", "Saldo finale"),
)


_STATEMENT_HEAD = (
    ("Date", "Details", "Paid out", "Paid in", "Balance"),
    ("Buchung", "Verwendungszweck", "Soll", "Haben", "Saldo"),
    ("Date", "Libellé", "Débit", "Crédit", "Solde"),
    ("Fecha", "Concepto", "Cargo", "Abono", "Saldo"),
    ("Datum", "Omschrijving", "Af", "Bij", "Saldo"),
    ("Data", "Descrizione", "Dare", "Avere", "Saldo"),
)
_STATEMENT_PERIOD = ("Statement period", "Zeitraum", "Période", "Periodo", "Periode", "Periodo")


def _bank_statement(d: _Doc) -> Blocks:
    """An account statement: bank, account, period, then dated bookings with debit and credit columns."""
    lang = LANGUAGES.index(d.lang)
    head = _STATEMENT_HEAD[lang]
    rows = ["   ".join((head[0].ljust(10), head[1].ljust(44), head[2], head[3]))]
    for i in range(d.rng.randint(3, 14)):
        what = d.pick(
            (
                f"{d.pick(_BOOKINGS)} {d.firm()}",
                f"{d.firm()} {d.ref(('INV-', 'RE-', 'F', 'FA-'))}",
                f"{d.pick(('Rent', 'Miete', 'Loyer', 'Alquiler', 'Huur', 'Affitto'))} "
                f"{d.pick(('warehouse', 'Lager', 'entrepôt', 'nave', 'loods', 'magazzino'))}",
                f"{d.pick(('Card', 'Karte', 'Carte', 'Tarjeta', 'Pinbetaling', 'POS'))} "
                f"{d.pick(('fuel', 'Tankstelle', 'Station', 'gasolinera', 'Shell', 'Esso'))}",
                f"{d.pick(('Bank charges', 'Kontoführung', 'Frais bancaires', 'Comisiones', 'Kosten', 'Competenze'))}",
                f"{d.pick(('Salaries', 'Gehälter', 'Salaires', 'Nóminas', 'Salarissen', 'Stipendi'))} {d.day:%m/%Y}",
            )
        )
        amount = d.money(d.rng.uniform(5, 4000), plain=True)
        gap = " " * (d.rng.randint(1, 3) * 10)
        rows.append(f"{d.when(i)}  {what:<44}{gap}{amount}")
    return [
        [
            d.pick(
                (
                    "Bank statement",
                    "Kontoauszug",
                    "Relevé de compte",
                    "Extracto bancario",
                    "Rekeningafschrift",
                    "Estratto conto",
                    "Account statement",
                )
            )
        ],
        [
            f"{d.pick(('Account', 'Konto', 'Compte', 'Cuenta', 'Rekening', 'Conto'))} {d.bank()[1]}",
            f"{_STATEMENT_PERIOD[lang]}: {d.when(-30)} - {d.when()}",
            f"{d.pick(_BALANCES[0])} {d.money(d.rng.uniform(1000, 20000))}",
        ],
        rows,
        [f"{d.pick(_BALANCES[1])} {d.money(d.rng.uniform(1000, 20000))}"],
    ]


def _other(d: _Doc) -> Blocks:
    kind = d.rng.randrange(9)
    if kind == 0:
        return _bank_statement(d)
    if kind == 1:
        rows = [
            f"{d.pick(_PRODUCTS)[0]}  {d.pick(('Shelf', 'Regal', 'Rayon'))} {d.pick('ABCDE')}{d.rng.randint(1, 9)}  "
            f"{d.rng.randint(0, 120)}"
            for _ in range(d.rng.randint(4, 12))
        ]
        return [
            [
                d.pick(
                    (
                        "Stock count sheet",
                        "Inventurliste",
                        "Inventaire",
                        "Recuento de stock",
                        "Voorraadtelling",
                        "Inventario",
                    )
                )
            ],
            [d.when()],
            rows,
        ]
    if kind == 2:
        product = d.pick(_PRODUCTS)[0]
        return [
            [
                product,
                d.say(
                    {
                        "en": ("Product specification", "Product data sheet", "Spec sheet"),
                        "de": ("Produktdatenblatt", "Spezifikation"),
                        "fr": ("Fiche technique", "Fiche produit"),
                        "es": ("Ficha técnica",),
                        "nl": ("Productspecificatie", "Productblad"),
                        "it": ("Scheda tecnica", "Specifica di prodotto"),
                    }
                ),
            ],
            d.rng.sample(
                [
                    f"{d.pick(('Origin', 'Herkunft', 'Origine', 'Origen', 'Herkomst'))}: "
                    f"{d.pick(('India', 'Sri Lanka', 'China', 'Kenya', 'Colombia', 'Brazil', 'Japan'))}",
                    f"{d.pick(('Shelf life', 'Haltbarkeit', 'DLUO', 'Vida útil', 'Houdbaarheid', 'Shelf life'))}: "
                    f"{d.rng.randint(12, 36)} {d.pick(('months', 'Monate', 'mois', 'meses', 'maanden', 'mesi'))}",
                    d.pick(
                        (
                            "Storage: cool and dry, away from light",
                            "Lagerung: kühl und trocken",
                            "Conserver au sec, à l'abri de la lumière",
                            "Conservar en lugar fresco y seco",
                            "Koel en droog bewaren",
                            "Conservare in luogo fresco e asciutto",
                        )
                    ),
                    f"{d.pick(('Brewing', 'Zubereitung', 'Préparation', 'Preparación', 'Bereiding', 'Preparazione'))}: "
                    f"{d.rng.randint(70, 100)} °C, {d.rng.randint(2, 5)} min",
                    d.pick(
                        (
                            "Allergens: none",
                            "Allergene: keine",
                            "Allergènes : aucun",
                            "Alérgenos: ninguno",
                            "Allergenen: geen",
                            "Allergeni: nessuno",
                        )
                    ),
                    d.pick(
                        (
                            "Appearance: whole leaf",
                            "Aussehen: Blatt",
                            "Aspect : feuilles entières",
                            "Aspecto: hoja entera",
                            "Uiterlijk: hele blad",
                            "Aspetto: foglia intera",
                        )
                    ),
                    f"{d.pick(('Packaging', 'Verpackung', 'Conditionnement', 'Envase', 'Verpakking', 'Confezione'))}: "
                    + d.pick(
                        ("25 kg bag", "5 kg Beutel", "sac kraft 1 kg", "caja 10 kg", "doos 6 x 1 kg", "sacco 60 kg")
                    ),
                ],
                d.rng.randint(3, 6),
            ),
        ]
    if kind == 3:
        return [
            [
                d.pick(
                    (
                        "Minutes of team meeting",
                        "Protokoll Teambesprechung",
                        "Compte rendu de réunion",
                        "Notulen overleg",
                        "Verbale di riunione",
                        "Acta de reunión",
                    )
                )
            ],
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


def _side_by_side(blocks: Blocks, rng: random.Random) -> Blocks:
    """Two neighbouring short blocks printed as columns, as a PDF's text layer joins them line by line.

    A sender's address beside the document's number and date, a buyer's address beside a delivery address:
    the text extraction reads across, so each line holds the start of one block and the end of another.
    """
    candidates = [i for i in range(len(blocks) - 1) if len(blocks[i]) <= 8 and len(blocks[i + 1]) <= 8]
    if not candidates:
        return blocks
    i = rng.choice(candidates)
    left, right = blocks[i], blocks[i + 1]
    width = max(len(line) for line in left) + rng.randint(3, 24)
    rows = max(len(left), len(right))
    joined = [
        ((left[n] if n < len(left) else "").ljust(width) + (right[n] if n < len(right) else "")).rstrip()
        for n in range(rows)
    ]
    return [*blocks[:i], joined, *blocks[i + 2 :]]


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
    if rng.random() < 0.35:
        blocks = _side_by_side(blocks, rng)
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
