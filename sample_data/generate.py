"""Write sample_data/documents.jsonl: a small, realistic, made-up corpus for the demo and tests.

Three kinds of documents that people index: support articles for a fictional software suite, product
descriptions for a fictional shop, and short local-news paragraphs. Everything is generated from the
hand-written pieces below with a fixed seed, so the output is reproducible and owes nothing to anyone:

    python sample_data/generate.py        # rewrites sample_data/documents.jsonl
"""

from __future__ import annotations

import json
import random
from pathlib import Path

SEED = 20261126
OUT = Path(__file__).with_name("documents.jsonl")

APPS = {
    "Lumen Notes": ("note", "notebook", "Settings > Account"),
    "Harbor Drive": ("file", "folder", "Preferences > Storage"),
    "Tally Invoices": ("invoice", "client ledger", "Settings > Billing"),
    "Beacon Chat": ("message", "channel", "Profile > Settings"),
    "Orbit Calendar": ("event", "calendar", "Menu > Settings"),
}

# (title template, body template). {app}, {item}, {container}, {menu} are filled per app.
SUPPORT = [
    ("Reset your {app} password",
     "If you forgot your password, open the {app} sign-in page and choose 'Forgot password'. Enter the email "
     "address on your account and we will send a reset link that stays valid for 30 minutes. Check your spam "
     "folder if the message does not arrive within five minutes. After resetting, every other device is signed out."),
    ("Turn on two-factor authentication in {app}",
     "Two-factor authentication adds a one-time code to your sign-in. Go to {menu} > Security, choose 'Enable "
     "two-step verification' and scan the QR code with an authenticator app. Save the ten backup codes somewhere "
     "safe: they are the only way back in if you lose your phone."),
    ("Export your {item}s to CSV from {app}",
     "You can download everything in a {container} as a spreadsheet. Open the {container}, click the three-dot "
     "menu and pick 'Export'. Choose CSV for Excel or Google Sheets, or JSON if you plan to import the data "
     "elsewhere. Large exports are prepared in the background and emailed to you as a link."),
    ("Why is {app} not syncing?",
     "When changes made on one device do not show up on another, first check that both devices are online and "
     "signed in to the same account. Sync pauses when the device storage is full or the app is more than two "
     "versions out of date. Signing out and back in forces a full resync without losing local {item}s."),
    ("Cancel your {app} subscription and request a refund",
     "You can cancel at any time from {menu} > Plan. Your paid features stay active until the end of the current "
     "billing period. Annual plans cancelled within 14 days of purchase are refunded in full; contact support "
     "with your receipt number and the refund reaches your card in five to ten business days."),
    ("Share a {container} with your team in {app}",
     "Open the {container} and press 'Share'. Type the names or email addresses of your colleagues and choose "
     "whether they can view, comment or edit. People outside your organisation receive an invitation link that "
     "expires after seven days. You can revoke access from the same dialog."),
    ("Recover a deleted {item} in {app}",
     "Deleted {item}s move to the trash and stay there for 30 days. Open the trash from the sidebar, select "
     "what you want back and choose 'Restore'. After 30 days they are removed permanently and cannot be "
     "recovered, even by our support team."),
    ("Change the email address on your {app} account",
     "Go to {menu} > Profile and edit the email field. We send a confirmation message to the new address; the "
     "change only takes effect after you click the link in it. Your sign-in name changes too, but your {item}s, "
     "{container}s and subscription stay exactly as they were."),
    ("{app} keeps crashing on startup",
     "If {app} closes right after opening, update it to the latest version first. On a computer, delete the "
     "local cache folder and restart; on a phone, clear the app cache from the system settings. If the crash "
     "continues, send us the crash report from the 'Help > Diagnostics' screen."),
    ("Use {app} offline",
     "{app} keeps a copy of your recent {item}s on the device so you can keep working without a connection. "
     "Anything you change offline is saved locally and uploaded as soon as you are back online. To make a whole "
     "{container} available offline, open it and switch on 'Keep on this device'."),
    ("Update billing details in {app}",
     "To change the card you pay with, open {menu} > Billing and choose 'Update payment method'. We accept "
     "Visa, Mastercard and American Express, and bank transfer for annual business plans. Invoices for every "
     "payment can be downloaded as PDF from the same page."),
    ("Import {item}s into {app} from another service",
     "Choose 'Import' in the sidebar and pick the service you are moving from, or upload a CSV file. Imports of "
     "up to 10,000 {item}s usually finish within a few minutes; you get a notification when they are done. "
     "Duplicates are detected by title and skipped."),
    ("Set up notifications in {app}",
     "Notification settings live under {menu} > Notifications. You can choose email, push or both for each kind "
     "of activity, and set quiet hours during which nothing is delivered. Mentions and shared {container} "
     "changes are on by default."),
    ("Delete your {app} account",
     "Deleting your account removes your {item}s, {container}s and personal data permanently after a 14-day "
     "grace period. Go to {menu} > Privacy and choose 'Delete account'. Cancel any paid plan first; deleting "
     "the account does not by itself stop future charges from an app store subscription."),
    ("Keyboard shortcuts in {app}",
     "Press Ctrl+K (Cmd+K on a Mac) to open the quick finder, Ctrl+N to create a new {item} and Ctrl+Shift+F to "
     "search across every {container}. The full list is under 'Help > Keyboard shortcuts', where you can also "
     "remap keys."),
]

PRODUCTS = [
    ("Wireless noise-cancelling headphones", "audio",
     ["40 hours of battery life", "adaptive noise cancelling", "folds flat into a hard case", "multipoint Bluetooth 5.3"]),
    ("Waterproof running earbuds", "audio",
     ["IPX7 sweat and rain resistance", "secure ear hooks that stay put on long runs", "8 hours per charge", "ambient mode for traffic"]),
    ("Electric kettle, 1.7 litres", "kitchen",
     ["boils a full kettle in under four minutes", "five temperature presets for green tea and coffee", "quiet boil", "keep-warm for 30 minutes"]),
    ("Cast iron skillet, 26 cm", "kitchen",
     ["pre-seasoned and ready to use", "works on induction, gas and in the oven", "heats evenly for searing", "lasts for generations"]),
    ("Hiking backpack, 30 litres", "outdoors",
     ["ventilated back panel", "integrated rain cover", "hip belt with zip pockets", "hydration sleeve for a 3-litre bladder"]),
    ("Trail running shoes", "sports",
     ["grippy lugged outsole for mud and loose rock", "rock plate under the forefoot", "quick-lace system", "weighs 280 g"]),
    ("LED desk lamp with wireless charger", "home office",
     ["adjustable colour temperature", "flicker-free light for long reading sessions", "Qi phone charging in the base", "USB-C port"]),
    ("Ergonomic office chair", "home office",
     ["adjustable lumbar support", "breathable mesh back", "4D armrests", "tested for eight-hour working days"]),
    ("Robot vacuum cleaner", "home",
     ["maps every room with lidar", "empties itself into a dock", "avoids cables and socks", "schedules from the phone app"]),
    ("Smart thermostat", "home",
     ["learns your schedule in a week", "cuts heating bills with geofencing", "works with most boilers", "shows energy reports"]),
    ("Insulated water bottle, 750 ml", "outdoors",
     ["keeps drinks cold for 24 hours", "leak-proof lid", "dishwasher safe", "made from recycled steel"]),
    ("Two-person camping tent", "outdoors",
     ["pitches in five minutes", "withstands strong wind", "weighs 1.6 kg packed", "two doors and two porches"]),
    ("Mechanical keyboard", "home office",
     ["hot-swappable switches", "quiet tactile keys", "connects to three devices", "aluminium case"]),
    ("4K portable monitor", "home office",
     ["15.6-inch screen powered by one USB-C cable", "matte anti-glare finish", "folding stand cover", "ideal for travel"]),
    ("Yoga mat, 6 mm", "sports",
     ["non-slip on both sides", "cushions knees on hard floors", "free of PVC", "carry strap included"]),
    ("Espresso machine", "kitchen",
     ["15-bar pump", "steam wand for milk foam", "heats up in 40 seconds", "removable water tank"]),
    ("Kids' bicycle, 16 inch", "sports",
     ["removable stabilisers", "light aluminium frame", "easy-reach brakes", "for ages four to six"]),
    ("Air purifier with HEPA filter", "home",
     ["removes 99.97% of pollen and dust", "quiet night mode", "covers rooms up to 40 m²", "filter change reminder"]),
    ("E-reader with warm light", "electronics",
     ["glare-free screen readable in sunlight", "weeks of battery life", "waterproof for reading in the bath", "stores thousands of books"]),
    ("Action camera", "electronics",
     ["records 5K video", "waterproof to 10 metres without a case", "horizon levelling", "voice control"]),
]
BRANDS = ["Northwind", "Aster", "Kestrel", "Brightwell", "Fenwick", "Solace"]
PRICE_NOTES = ["Free delivery on orders over 50 euros.", "Two-year warranty included.",
               "Returns accepted within 30 days.", "Ships within 24 hours."]

NEWS = [
    ("City council approves new protected bike lanes",
     "The {city} city council voted {votes} to build {n} kilometres of protected bike lanes along the main "
     "avenues. Construction starts in spring and will close one car lane on each street. Shop owners asked "
     "for delivery bays to be kept; the council promised a consultation."),
    ("Storm closes schools across the region",
     "Heavy snow and winds of up to {n}0 km/h forced {city} to close all schools on {day}. Trains were cancelled "
     "and several roads blocked by fallen trees. The weather service expects conditions to improve by the "
     "weekend and asks residents to avoid unnecessary travel."),
    ("Local bakery wins national bread award",
     "A family bakery from {city} took first place in the national sourdough competition on {day}. The owners "
     "credit a starter kept alive for {n} years. Queues formed outside the shop the morning after the "
     "announcement."),
    ("Hospital opens new emergency wing",
     "The {city} general hospital opened an emergency wing with {n} extra beds, aimed at cutting waiting times "
     "that reached six hours last winter. Staff numbers will rise gradually over the year as new nurses finish "
     "their training."),
    ("Tech company reports record quarterly earnings",
     "A software firm headquartered in {city} reported revenue up {n} percent on the year, driven by demand "
     "for its cloud products. Shares rose in early trading on {day}. The company plans to hire 300 engineers "
     "and open a second office."),
    ("Researchers find microplastics in river fish",
     "Scientists at the {city} university found microplastic particles in {n} percent of fish sampled from "
     "the river. The study, published on {day}, calls for better filtering at water treatment plants and "
     "more research on the effects on human health."),
    ("Public library extends opening hours",
     "From next month the central library in {city} will stay open until 10 p.m. on weekdays and open on "
     "Sundays. The change follows a survey in which {n} percent of students said they lacked quiet places "
     "to study in the evening."),
    ("Bus fares frozen for another year",
     "The {city} transport authority announced on {day} that ticket prices will not rise this year. A monthly "
     "pass stays at {n} euros. Officials said higher ridership had covered the increase in fuel costs."),
    ("Heatwave brings water restrictions",
     "With temperatures above {n} degrees for a week, {city} has banned garden watering and car washing until "
     "reservoirs recover. Fines apply from {day}. Farmers are exempt but asked to irrigate at night."),
    ("Football club appoints new coach",
     "{city} FC named a new head coach on {day} after a run of {n} games without a win. The former youth "
     "academy director signed a two-year contract and promised a more attacking style."),
    ("Startup launches electric scooter sharing",
     "A startup began renting {n}00 electric scooters across {city} on {day}. Rides are unlocked with a phone "
     "app and cost a fixed fee plus a price per minute. The city limited speeds to 20 km/h in the old town."),
    ("Museum returns artefacts to country of origin",
     "The {city} museum handed back {n} bronze sculptures on {day} after a review of how they were acquired a "
     "century ago. The director called it a first step and said other objects are under study."),
]
CITIES = ["Marlow", "Ostend", "Bergamo", "Tarragona", "Lindau", "Aarhus", "Galway", "Porto", "Ghent", "Lyon"]
DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday"]


def support_docs(rng: random.Random) -> list[dict[str, str]]:
    """One article per (app, topic): 5 apps × 15 topics."""
    docs = []
    for app, (item, container, menu) in APPS.items():
        for title, body in SUPPORT:
            fill = {"app": app, "item": item, "container": container, "menu": menu}
            docs.append({"title": title.format(**fill), "body": body.format(**fill), "category": "support"})
    rng.shuffle(docs)
    return docs


def product_docs(rng: random.Random) -> list[dict[str, str]]:
    """Each product type in several brands, with a different choice and order of features."""
    docs = []
    for name, department, features in PRODUCTS:
        for brand in rng.sample(BRANDS, 5):
            chosen = rng.sample(features, 3)
            body = (
                f"{brand} {name}, from our {department} range. "
                f"Highlights: {chosen[0]}; {chosen[1]}; {chosen[2]}. {rng.choice(PRICE_NOTES)}"
            )
            docs.append({"title": f"{brand} {name}", "body": body, "category": "product"})
    return docs


def news_docs(rng: random.Random) -> list[dict[str, str]]:
    """Each story template set in several cities with different figures."""
    docs = []
    for title, body in NEWS:
        for city in rng.sample(CITIES, 8):
            fill = {
                "city": city, "day": rng.choice(DAYS), "n": str(rng.randint(3, 9)),
                "votes": f"{rng.randint(20, 30)} to {rng.randint(5, 15)}",
            }
            docs.append({"title": f"{city}: {title}", "body": body.format(**fill), "category": "news"})
    return docs


def generate() -> list[dict[str, str]]:
    """The corpus, in its fixed order, with ids."""
    rng = random.Random(SEED)
    docs = support_docs(rng) + product_docs(rng) + news_docs(rng)
    rng.shuffle(docs)
    return [{"id": f"doc-{n:04d}", **doc} for n, doc in enumerate(docs, start=1)]


def main(out_path: Path = OUT) -> None:
    """Generate and write the corpus."""
    docs = generate()
    with out_path.open("w", encoding="utf-8") as out:
        for doc in docs:
            out.write(json.dumps(doc, ensure_ascii=False) + "\n")
    print(f"wrote {len(docs)} documents to {out_path}")


if __name__ == "__main__":
    main()
