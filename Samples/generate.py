#!/usr/bin/env python3
"""Writes ShelfTag's sample dataset (deterministic). Run from the repo root: python3 Samples/generate.py"""
import random
from xml.sax.saxutils import escape

rng = random.Random(20261123)
OUT = "Samples"

STORES = [
    ("PAR01", "Maison Exemple Paris Rivoli", "120 rue de Rivoli, 75001 Paris", 48.8606, 2.3412, "Europe/Paris", "fr-FR", "Mo-Sa 10:00-20:00; Su 11:00-19:00"),
    ("LYO02", "Maison Exemple Lyon Part-Dieu", "17 rue du Docteur Bouchut, 69003 Lyon", 45.7609, 4.8566, "Europe/Paris", "fr-FR", "Mo-Sa 10:00-20:00"),
    ("BDX03", "Maison Exemple Bordeaux Mériadeck", "57 rue du Château d'Eau, 33000 Bordeaux", 44.8378, -0.5845, "Europe/Paris", "fr-FR", "Mo-Sa 10:00-19:30"),
    ("LIL04", "Maison Exemple Lille Grand Place", "31 place du Général de Gaulle, 59800 Lille", 50.6369, 3.0635, "Europe/Paris", "fr-FR", "Mo-Fr 10:00-19:00; Sa 09:30-19:30"),
]

def ean13(body12):
    s = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body12)))
    return body12 + str((10 - s % 10) % 10)

def gtin_with_check(body):
    s = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return body + str((10 - s % 10) % 10)

GROCERY = [
    # (name template, brand, category, sizes [(label, measure, base)], price range per base unit)
    ("Café moulu pur arabica {origin} {size}", ["Torréfaction Ménard", "Maison Caféière"], "Épicerie > Café et thé",
     [("250 g", "250g", "1kg"), ("500 g", "500g", "1kg"), ("1 kg", "1kg", "1kg")], (14.0, 28.0),
     {"origin": ["Éthiopie", "Colombie", "Pérou", "Brésil", "Guatemala", "Honduras"]}),
    ("Thé {kind} en vrac {size}", ["Comptoir des Thés", "Les Jardins d'Ambre"], "Épicerie > Café et thé",
     [("100 g", "100g", "1kg"), ("250 g", "250g", "1kg")], (30.0, 80.0),
     {"kind": ["vert sencha", "noir Assam", "Earl Grey", "blanc Pai Mu Tan", "rooibos vanille", "menthe poivrée"]}),
    ("Huile d'olive vierge extra {origin} {size}", ["Domaine des Oliviers", "Moulin de l'Estaque"], "Épicerie > Huiles et vinaigres",
     [("50 cl", "50cl", "1l"), ("75 cl", "75cl", "1l"), ("1 L", "1l", "1l")], (9.0, 18.0),
     {"origin": ["de Provence", "d'Espagne", "de Grèce", "de Crète", "d'Italie"]}),
    ("Confiture extra {fruit} {size}", ["Les Vergers d'Aurore", "Bonne Maman Rose"], "Épicerie sucrée > Confitures",
     [("370 g", "370g", "1kg"), ("250 g", "250g", "1kg")], (6.0, 11.0),
     {"fruit": ["fraises", "abricots", "framboises", "cerises noires", "myrtilles", "figues", "oranges amères", "mirabelles"]}),
    ("Comté AOP affiné {age} {size}", ["Fruitière du Haut-Jura", "Fromagerie Arnaud"], "Crèmerie > Fromages",
     [("200 g", "200g", "1kg"), ("400 g", "400g", "1kg")], (16.0, 32.0),
     {"age": ["6 mois", "12 mois", "18 mois", "24 mois"]}),
    ("Yaourt {flavour} {size}", ["Laiterie du Val", "Les Prés Fleuris"], "Crèmerie > Yaourts",
     [("4 x 125 g", "500g", "1kg"), ("8 x 125 g", "1000g", "1kg")], (2.5, 6.0),
     {"flavour": ["nature au lait entier", "à la vanille", "aux fruits rouges", "au citron", "à la châtaigne", "brassé à la grecque"]}),
    ("Pâtes {shape} de blé dur {size}", ["Moulins de Savoie", "La Pastière"], "Épicerie > Pâtes, riz et céréales",
     [("500 g", "500g", "1kg"), ("1 kg", "1kg", "1kg")], (1.6, 4.5),
     {"shape": ["coquillettes", "penne rigate", "fusilli", "spaghetti", "farfalle", "crozets"]}),
    ("Riz {kind} {size}", ["Rizerie de Camargue", "Taureau Ailé"], "Épicerie > Pâtes, riz et céréales",
     [("500 g", "500g", "1kg"), ("1 kg", "1kg", "1kg")], (2.0, 6.5),
     {"kind": ["basmati", "thaï parfumé", "complet de Camargue", "rond pour risotto", "rouge de Camargue"]}),
    ("Chocolat {kind} {size}", ["Chocolaterie Bonnat-Rey", "Cacao & Cie"], "Épicerie sucrée > Chocolat",
     [("100 g", "100g", "1kg"), ("200 g", "200g", "1kg")], (15.0, 40.0),
     {"kind": ["noir 70 % cacao", "noir 85 % cacao", "au lait noisettes", "blanc vanille", "noir éclats d'orange", "au lait caramel salé"]}),
    ("Jus {fruit} pur jus {size}", ["Vergers de Normandie", "Pressoir d'Émeraude"], "Boissons > Jus",
     [("1 L", "1l", "1l"), ("75 cl", "75cl", "1l")], (2.0, 5.5),
     {"fruit": ["de pomme", "d'orange", "de raisin", "de poire", "multifruits", "de pamplemousse rose"]}),
    ("Eau minérale naturelle {kind} {size}", ["Source Sainte-Clotilde", "Roche Pure"], "Boissons > Eaux",
     [("6 x 1,5 L", "9l", "1l"), ("1,5 L", "1.5l", "1l")], (0.25, 0.7),
     {"kind": ["plate", "gazeuse", "fines bulles"]}),
    ("Miel {kind} {size}", ["Rucher des Cévennes", "L'Abeille d'Or"], "Épicerie sucrée > Miel",
     [("250 g", "250g", "1kg"), ("500 g", "500g", "1kg")], (14.0, 35.0),
     {"kind": ["de lavande", "d'acacia", "de châtaignier", "toutes fleurs", "de sapin des Vosges"]}),
    ("Farine de blé {kind} {size}", ["Moulins de Savoie", "Minoterie Girard"], "Épicerie > Farines",
     [("1 kg", "1kg", "1kg")], (1.2, 3.5),
     {"kind": ["T55", "T65 bio", "T80 semi-complète", "T110 complète"]}),
]

ELECTRONICS = [
    ("Écouteurs sans fil Bluetooth {variant}", ["Sonalto", "Audiora"], "Électronique > Audio", (29.0, 199.0),
     ["5.3 à réduction de bruit", "sport résistants à l'eau", "intra-auriculaires compacts", "à réduction de bruit active noir", "ouverts à conduction osseuse"]),
    ("Casque audio {variant}", ["Sonalto", "Audiora"], "Électronique > Audio", (39.0, 349.0),
     ["circum-aural filaire", "sans fil pliable", "gaming avec micro", "à réduction de bruit hybride"]),
    ("Enceinte portable {variant}", ["Sonalto", "Boomba"], "Électronique > Audio", (25.0, 249.0),
     ["étanche IP67", "avec radio FM", "360° 40 W", "de poche 5 W"]),
    ("Clé USB 3.2 {variant}", ["Datakey", "Memoria"], "Électronique > Stockage", (6.0, 49.0),
     ["32 Go", "64 Go", "128 Go", "256 Go", "512 Go"]),
    ("Carte microSDXC {variant}", ["Datakey", "Memoria"], "Électronique > Stockage", (8.0, 69.0),
     ["64 Go A2", "128 Go A2", "256 Go V30", "512 Go V30"]),
    ("Câble {variant}", ["Connectix", "Filaire"], "Électronique > Câbles", (5.0, 29.0),
     ["USB-C vers USB-C 2 m 100 W", "USB-C vers Lightning 1 m", "HDMI 2.1 2 m 8K", "USB-A vers USB-C 1 m tressé", "Ethernet Cat 6 5 m"]),
    ("Chargeur secteur {variant}", ["Voltéo", "Connectix"], "Électronique > Alimentation", (12.0, 59.0),
     ["USB-C 20 W", "USB-C 65 W GaN", "double port 35 W", "sans fil 15 W"]),
    ("Batterie externe {variant}", ["Voltéo", "Énergik"], "Électronique > Alimentation", (15.0, 79.0),
     ["10 000 mAh", "20 000 mAh 22,5 W", "magnétique 5 000 mAh", "26 800 mAh ordinateur"]),
    ("Ampoules LED {variant}", ["Lumeo", "Clartéa"], "Électronique > Éclairage", (4.0, 25.0),
     ["E27 806 lm blanc chaud, lot de 3", "GU10 345 lm, lot de 4", "E14 flamme 470 lm", "E27 connectée couleur"]),
    ("Bouilloire électrique {variant}", ["Ménagéo", "Cuisina"], "Électroménager > Petit déjeuner", (19.0, 89.0),
     ["inox 1,7 L 2200 W", "verre 1,5 L", "à température réglable 1,7 L"]),
    ("Souris {variant}", ["Clikéo", "Ergonomia"], "Informatique > Périphériques", (9.0, 89.0),
     ["sans fil silencieuse", "ergonomique verticale", "gaming 16 000 dpi", "Bluetooth multi-appareils"]),
    ("Clavier {variant}", ["Clikéo", "Ergonomia"], "Informatique > Périphériques", (19.0, 149.0),
     ["sans fil AZERTY", "mécanique rétroéclairé", "compact Bluetooth"]),
]

def cents(x):
    return int(round(x * 100))

def money(c):
    return f"{c // 100}.{c % 100:02d} EUR"

products = []
serial = 100000

def next_gtin(kind="ean13"):
    global serial
    serial += rng.randint(7, 97)
    if kind == "upc":
        return gtin_with_check("07" + f"{serial:09d}")  # 12 digits, UPC-A (not the restricted 04 or coupon 05 ranges)
    if kind == "ean8":
        return gtin_with_check("9" + f"{serial:06d}"[-6:])  # 8 digits
    return ean13("376" + f"{serial:09d}")

for template, brands, category, sizes, (low, high), slots in GROCERY:
    key = next(iter(slots))
    for value in slots[key]:
        label, measure, base = rng.choice(sizes)
        name = template.format(**{key: value, "size": label})
        qty = {"g": 1 / 1000, "kg": 1, "l": 1, "cl": 1 / 100, "ml": 1 / 1000}
        import re
        m = re.match(r"([\d.]+)([a-z]+)", measure)
        amount = float(m.group(1)) * qty[m.group(2)]
        price = cents(rng.uniform(low, high) * amount)
        price = max(price - price % 5 + 9 if price % 10 < 5 else price - price % 10 + 9, 59)
        products.append({"kind": "grocery", "title": name, "brand": rng.choice(brands), "category": category,
                         "measure": measure, "base": base, "price": price})

for template, brands, category, (low, high), variants in ELECTRONICS:
    for variant in variants:
        price = cents(rng.uniform(low, high))
        price = price - price % 100 + 99
        products.append({"kind": "electronics", "title": template.format(variant=variant), "brand": rng.choice(brands),
                         "category": category, "measure": "", "base": "", "price": price})

# Pad to more than 200 with more grocery sizes of the same lines.
extra = 0
originals = [p for p in products if p["kind"] == "grocery"]
while len(products) < 212:
    src = rng.choice(originals)
    extra += 1
    p = dict(src)
    p["title"] = src["title"] + f" — format éco n°{extra}"
    p["price"] = src["price"] + rng.randint(1, 9) * 10
    products.append(p)

for index, p in enumerate(products):
    prefix = "FR-EPI" if p["kind"] == "grocery" else "FR-ELE"
    p["id"] = f"{prefix}-{index + 1:04d}"
    kind = "upc" if p["kind"] == "electronics" and index % 9 == 0 else ("ean8" if index in (7, 140) else "ean13")
    p["gtin"] = next_gtin(kind)
    slug = p["id"].lower()
    p["link"] = f"https://shop.example.com/fr/p/{slug}"
    p["image"] = f"https://img.example.com/p/{p['id']}.jpg"
    p["description"] = f"{p['title']}. {p['brand']}, sélection Maison Exemple."

# Promotions: every 8th product, a sale running 2026-11-16 to 2026-12-14 (Paris time).
PROMO_WINDOW = "2026-11-16T08:00+0100/2026-12-14T20:00+0100"
promos = products[3::8]
for p in promos:
    p["sale"] = p["price"] * rng.choice([70, 75, 80, 85]) // 100
    p["sale"] -= p["sale"] % 5 if p["sale"] % 5 else 0

# History: prices on 2026-10-01 (a bit different for some) and a temporary dip on 2026-10-25 for some promos,
# so that the Omnibus prior price (lowest of the 30 days before 2026-11-16) differs from the last regular price.
for i, p in enumerate(products):
    p["price_oct01"] = p["price"] + (rng.choice([-20, 0, 0, 30, 50]) if i % 5 == 0 else 0)
    p["price_oct25"] = p["price"] - (p["price"] // 10) if p in promos[::2] else None

COLUMNS = ["id", "title", "description", "link", "image_link", "availability", "price", "sale_price",
           "sale_price_effective_date", "gtin", "brand", "condition", "product_type", "unit_pricing_measure",
           "unit_pricing_base_measure"]

def tsv_row(p, price, sale=None, window=""):
    return "\t".join([p["id"], p["title"], p["description"], p["link"], p["image"], "in_stock", money(price),
                      money(sale) if sale else "", window if sale else "", p["gtin"], p["brand"], "new", p["category"],
                      p["measure"], p["base"]])

with open(f"{OUT}/history/products-2026-10-01.tsv", "w") as f:
    f.write("\t".join(COLUMNS) + "\n")
    for p in products:
        f.write(tsv_row(p, p["price_oct01"]) + "\n")
with open(f"{OUT}/history/products-2026-10-25.tsv", "w") as f:
    f.write("\t".join(COLUMNS) + "\n")
    for p in products:
        f.write(tsv_row(p, p["price_oct25"] or p["price"]) + "\n")

def eco_participation(p):
    """The DEEE recycling fee French law has shown with electrical goods' prices, by price band (not a Merchant
    Center attribute: ShelfTag reads it from the feed's eco_participation)."""
    if p["kind"] != "electronics":
        return ""
    return money(10 if p["price"] < 10000 else 50 if p["price"] < 50000 else 200)

with open(f"{OUT}/products.xml", "w") as f:
    f.write('<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0" xmlns:g="http://base.google.com/ns/1.0">\n <channel>\n')
    f.write("  <title>Maison Exemple – catalogue</title>\n  <link>https://shop.example.com/fr</link>\n  <description>Flux produits</description>\n")
    for i, p in enumerate(products):
        plain = i % 2 == 0  # half the items use plain RSS title/link/description, half the g: forms
        t = lambda tag, v: f"   <{'' if plain else 'g:'}{tag}>{escape(v)}</{'' if plain else 'g:'}{tag}>\n"
        g = lambda tag, v: f"   <g:{tag}>{escape(v)}</g:{tag}>\n" if v else ""
        availability = "out_of_stock" if i % 37 == 5 else "in_stock"
        f.write("  <item>\n" + g("id", p["id"]) + t("title", p["title"]) + t("link", p["link"]) + t("description", p["description"])
                + g("image_link", p["image"]) + g("availability", availability) + g("price", money(p["price"]))
                + g("sale_price", money(p["sale"]) if "sale" in p else "")
                + g("sale_price_effective_date", PROMO_WINDOW if "sale" in p else "")
                + g("gtin", p["gtin"]) + g("brand", p["brand"]) + g("condition", "new") + g("product_type", p["category"])
                + g("unit_pricing_measure", p["measure"]) + g("unit_pricing_base_measure", p["base"])
                + g("eco_participation", eco_participation(p)) + "  </item>\n")
    f.write(" </channel>\n</rss>\n")

# Stores: stock per store, some zero; planted store prices that differ from the web.
PLANTED = {("BDX03", 2): 15, ("LYO02", 21): -10, ("PAR01", 41): 100, ("LIL04", 77): 50}
INV_COLUMNS = ["store code", "id", "quantity", "price", "sale price", "sale price effective date", "availability", "pickup method", "pickup sla"]
planted_rows = []

def inventory(path, price_key, with_sales):
    with open(path, "w") as f:
        f.write("\t".join(INV_COLUMNS) + "\n")
        for s_index, store in enumerate(STORES):
            code = store[0]
            for i, p in enumerate(products):
                if (i + s_index) % 11 == 10:
                    continue  # not every store lists every product
                qty = 0 if (i * 7 + s_index) % 13 == 0 else rng.randint(1, 40)
                price = p[price_key]
                if with_sales and (code, i) in PLANTED:
                    price += PLANTED[(code, i)]
                    planted_rows.append((code, p, price))
                sale = p.get("sale") if with_sales else None
                availability = "in stock" if qty >= 3 else ("limited availability" if qty else "out of stock")
                method, sla = (("reserve", "same day") if p["kind"] == "grocery" else ("ship to store", "3-day")) if i % 6 else ("not supported", "")
                f.write("\t".join([code, p["id"], str(qty), money(price), money(sale) if sale else "", PROMO_WINDOW if sale else "",
                                   availability, method, sla]) + "\n")

inventory(f"{OUT}/history/local_inventory-2026-10-01.tsv", "price_oct01", False)
for p in products:
    p["price_oct25_store"] = p["price_oct25"] or p["price"]
inventory(f"{OUT}/history/local_inventory-2026-10-25.tsv", "price_oct25_store", False)
inventory(f"{OUT}/local_inventory.tsv", "price", True)

with open(f"{OUT}/stores.csv", "w") as f:
    f.write("code,name,address,latitude,longitude,timezone,locale,opening_hours\n")
    for s in STORES:
        f.write(f'{s[0]},{s[1]},"{s[2]}",{s[3]},{s[4]},{s[5]},{s[6]},{s[7]}\n')

AUTHORS = ["Claire D.", "Mehdi B.", "Sophie L.", "Jean-Marc P.", "Inès R.", "Thomas G.", "Léa M.", "Karim S.", "Anaïs V.", "Hugo F."]
TEXTS = [("Très bon produit", "Conforme à la description, je recommande."), ("Correct", "Rapport qualité-prix correct, sans plus."),
         ("Excellent", "Qualité au rendez-vous, retiré en magasin le jour même."), ("Déçu", "Pas à la hauteur de mes attentes."),
         ("Parfait", "Rien à redire, je rachèterai.")]
n = 0
with open(f"{OUT}/product_reviews.xml", "w") as f:
    f.write('<?xml version="1.0" encoding="UTF-8"?>\n<feed xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
            'xsi:noNamespaceSchemaLocation="http://www.google.com/shopping/reviews/schema/product/2.4/product_reviews.xsd">\n'
            '  <version>2.4</version>\n  <publisher>\n    <name>Maison Exemple</name>\n  </publisher>\n  <reviews>\n')
    for i, p in enumerate(products):
        if i % 4 == 3:
            continue  # about a quarter have no reviews
        for _ in range(rng.randint(1, 4)):
            n += 1
            rating = rng.choice([2, 3, 4, 4, 5, 5])
            title, content = TEXTS[rating % 5]
            anon = n % 9 == 0
            day = 1 + n % 28
            key = f"<gtins><gtin>{p['gtin']}</gtin></gtins>" if n % 5 else f"<skus><sku>{p['id']}</sku></skus>"
            f.write(f"""    <review>
      <review_id>AV-2026-{n:06d}</review_id>
      <reviewer><name{' is_anonymous="true"' if anon else ''}>{'Anonyme' if anon else rng.choice(AUTHORS)}</name></reviewer>
      <is_verified_purchase>true</is_verified_purchase>
      <is_incentivized_review>false</is_incentivized_review>
      <review_timestamp>2026-10-{day:02d}T{8 + n % 12:02d}:{n % 60:02d}:00Z</review_timestamp>
      <title>{escape(title)}</title>
      <content>{escape(content)}</content>
      <review_language>fr</review_language>
      <ratings><overall min="1" max="5">{rating}</overall></ratings>
      <products><product><product_ids>{key}</product_ids><product_url>{p['link']}</product_url></product></products>
      <is_spam>false</is_spam>
      <collection_method>post_fulfillment</collection_method>
    </review>
""")
    f.write("  </reviews>\n</feed>\n")

with open(f"{OUT}/planted.tsv", "w") as f:
    f.write("store_code\tgtin\tid\tstore_price\tweb_price\n")
    for code, p, price in planted_rows:
        f.write(f"{code}\t{p['gtin']}\t{p['id']}\t{money(price)}\t{money(p['price'])}\n")
with open(f"{OUT}/promotions.tsv", "w") as f:
    f.write("gtin\tid\tprice\tsale_price\tprior_price\n")
    for p in promos:
        prior = min(x for x in [p["price_oct01"], p["price_oct25"] or p["price"]])
        # The 2026-10-01 price is in force until 2026-10-25, which covers 2026-10-17 (start - 30 days).
        f.write(f"{p['gtin']}\t{p['id']}\t{money(p['price'])}\t{money(p['sale'])}\t{money(prior)}\n")
print(f"{len(products)} products, {n} reviews, {len(promos)} promotions, {len(planted_rows)} planted store prices")

# Samples/bad/: broken files, one fault each, for the error paths (expected results in bad/expected.tsv).
def write_bad(name, text):
    with open(f"{OUT}/bad/{name}", "wb") as f:
        f.write(text if isinstance(text, bytes) else text.encode())

def swap(row, col, value):
    cells = row.split("\t")
    cells[col] = value
    return "\t".join(cells)

head, r1, r2, r3 = open(f"{OUT}/history/products-2026-10-01.tsv").read().split("\n")[:4]
cols = head.split("\t")
gi, pi, di, ti = cols.index("gtin"), cols.index("price"), cols.index("sale_price_effective_date"), cols.index("title")
g = r3.split("\t")[gi]
write_bad("products-bad-check-digit.tsv", "\n".join([head, r1, r2, swap(r3, gi, g[:-1] + str((int(g[-1]) + 1) % 10))]) + "\n")
write_bad("products-unknown-currency.tsv", "\n".join([head, r1, swap(r2, pi, "3.49 EUX"), r3]) + "\n")
write_bad("products-negative-price.tsv", "\n".join([head, swap(r1, pi, "-3.49 EUR"), r2, r3]) + "\n")
write_bad("products-malformed-price.tsv", "\n".join([head, r1, r2, swap(r3, pi, "3,49 EUR")]) + "\n")
r2s = swap(swap(r2, cols.index("sale_price"), "2.99 EUR"), di, "2026-13-01T08:00+0100/2026-12-14T20:00+0100")
write_bad("products-malformed-date.tsv", "\n".join([head, r1, r2s, r3]) + "\n")
write_bad("products-invalid-utf8.tsv", ("\n".join([head, r1]) + "\n").encode()
          + swap(r2, ti, "PLACEHOLDER").encode().replace(b"PLACEHOLDER", b"Caf\xe9 moulu 250 g") + ("\n" + r3 + "\n").encode())
write_bad("products-wrong-column-count.tsv", "\n".join([head, r1, "\t".join(r2.split("\t")[:-2]), r3]) + "\n")
inv = open(f"{OUT}/local_inventory.tsv").read().split("\n")
write_bad("inventory-unknown-store.tsv", "\n".join([inv[0], inv[1], inv[2].replace(inv[2].split("\t")[0], "NTE09", 1), inv[3]]) + "\n")
write_bad("inventory-unknown-product.tsv", "\n".join([inv[0], inv[1], inv[2], inv[3].replace(inv[3].split("\t")[1], "FR-XXX-9999", 1)]) + "\n")
cells = inv[2].split("\t")
write_bad("inventory-negative-quantity.tsv", "\n".join([inv[0], inv[1], "\t".join(cells[:2] + ["-4"] + cells[3:])]) + "\n")
write_bad("unknown-kind.txt", "sku;name;price\nA1;Something;3.49\n")
write_bad("stores-bad-timezone.csv", "code,name,address,latitude,longitude,timezone,locale\n"
          "NTE05,Maison Exemple Nantes,\"2 rue de la Barillerie, 44000 Nantes\",47.2155,-1.5536,Europe/Lutece,fr-FR\n")
reviews = open(f"{OUT}/product_reviews.xml").read()
first_end = reviews.index("</review>") + len("</review>")
second_end = reviews.index("</review>", first_end) + len("</review>")
body = reviews[:second_end] + "\n  </reviews>\n</feed>\n"
i = body.index('max="5">', first_end) + len('max="5">')
write_bad("reviews-bad-rating.xml", body[:i] + "7" + body[i + 1:])
write_bad("reviews-malformed.xml", body.replace("</title>", "</titel>", 1))

# layout-PAR01.csv: where PAR01's products sit, for `render --layout`: an aisle per category, in shelf order, and each
# promotion also on an end cap (T1, T2: "têtes de gondole") with two tags there, a long facing.
aisles = {}
promo_ids = {p["id"] for p in promos}
with open(f"{OUT}/layout-PAR01.csv", "w") as f:
    f.write("gtin,aisle,position,copies\n")
    caps = 0
    for i, p in enumerate(products):
        if i % 11 == 10:
            continue  # not listed in PAR01 (see inventory())
        aisle = aisles.setdefault(p["category"], f"{'A' if p['kind'] == 'grocery' else 'B'}{len(aisles) + 1}")
        position = sum(1 for q in products[:i] if q["category"] == p["category"]) + 1
        f.write(f"{p['gtin']},{aisle},{position},\n")
        if p["id"] in promo_ids:
            caps += 1
            f.write(f"{p['gtin']},T{1 + (caps - 1) // 8},{1 + (caps - 1) % 8},2\n")
