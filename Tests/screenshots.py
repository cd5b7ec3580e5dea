"""Screenshots of the pages people look at, taken with headless Chromium (make screenshots).

Loads the samples into a throwaway database, adds an associate, starts `shelftag serve`, makes a credited
reservation and a help request, signs the associate in, then drives Chromium over the DevTools protocol:
the work view at 1024 px (home with the help request, staff product view, preparation queue) and the
shopper's page with an advisor, out of stock, the reservation form, an error page and a held and a cancelled
reservation at 390 px, in French, English and German. Prints where the PNG files are.
"""

import argparse, base64, http.cookiejar, json, os, re, socket, subprocess, sys, tempfile, time, urllib.parse, urllib.request

import websocket  # websocket-client: the DevTools protocol speaks over a WebSocket

GTIN = "03760001001983"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(url, seconds=20):
    deadline = time.time() + seconds
    while time.time() < deadline:
        try:
            return urllib.request.urlopen(url, timeout=1).read()
        except OSError:
            time.sleep(0.2)
    sys.exit(f"screenshots: nothing answers at {url}")


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def sign_in(base, code, secret):
    """The session cookie's value, signing in as a browser would (the form's anti-forgery token included)."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar), NoRedirect())
    form = opener.open(base + "/work/sign-in").read().decode()
    csrf = re.search(r'name="csrf" value="([^"]+)"', form).group(1)
    body = urllib.parse.urlencode({"csrf": csrf, "code": code, "secret": secret, "next": ""}).encode()
    try:
        opener.open(base + "/work/sign-in", data=body)
    except urllib.error.HTTPError as answer:
        if answer.code != 303:
            sys.exit(f"screenshots: sign-in answered {answer.code}")
    return next(cookie.value for cookie in jar if cookie.name == "shelftag_session")


class Chromium:
    """One headless Chromium and one page, driven over the DevTools protocol."""

    def __init__(self, binary, language):
        port = free_port()
        self.profile = tempfile.mkdtemp(prefix="shelftag-chromium-")
        self.process = subprocess.Popen(
            [binary, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", f"--remote-debugging-port={port}",
             f"--user-data-dir={self.profile}", f"--lang={language}", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        targets = json.loads(wait_for(f"http://127.0.0.1:{port}/json/list"))
        page = next(target for target in targets if target["type"] == "page")
        self.socket = websocket.create_connection(page["webSocketDebuggerUrl"], timeout=30)
        self.next_id = 0
        self.call("Page.enable")
        self.call("Network.enable")
        # The pages choose their language from Accept-Language, as a phone's or tablet's settings set it.
        self.call("Network.setExtraHTTPHeaders", headers={"Accept-Language": language})

    def call(self, method, **params):
        self.next_id += 1
        self.socket.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:
            message = json.loads(self.socket.recv())
            if message.get("id") == self.next_id:
                if "error" in message:
                    sys.exit(f"screenshots: {method}: {message['error']}")
                return message.get("result", {})

    def shoot(self, url, path, width, mobile):
        self.call("Emulation.setDeviceMetricsOverride", width=width, height=800, deviceScaleFactor=1, mobile=mobile)
        self.call("Page.navigate", url=url)
        while json.loads(self.socket.recv()).get("method") != "Page.loadEventFired":
            pass
        height = self.call("Page.getLayoutMetrics")["cssContentSize"]["height"]
        self.call("Emulation.setDeviceMetricsOverride", width=width, height=int(height), deviceScaleFactor=1, mobile=mobile)
        data = self.call("Page.captureScreenshot", format="png")["data"]
        with open(path, "wb") as file:
            file.write(base64.b64decode(data))
        print(f"  {path}  ({width} px)  {url}")

    def close(self):
        self.socket.close()
        self.process.terminate()
        self.process.wait()


def main():
    arguments = argparse.ArgumentParser()
    arguments.add_argument("--shelftag", default=".build/release/shelftag")
    arguments.add_argument("--chromium", default="/usr/bin/chromium")
    arguments.add_argument("--out", default="screenshots")
    options = arguments.parse_args()
    os.makedirs(options.out, exist_ok=True)
    work = tempfile.mkdtemp(prefix="shelftag-screenshots-")
    database = os.path.join(work, "shelftag.sqlite")
    shelftag = options.shelftag
    subprocess.run([shelftag, "import", "--db", database, "--as-of", "2026-11-20T06:00Z", "Samples/stores.csv", "Samples/products.xml",
                    "Samples/local_inventory.tsv", "Samples/product_reviews.xml"], check=True, stdout=subprocess.DEVNULL)
    added = subprocess.run([shelftag, "associates", "add", "--db", database, "--store", "PAR01", "--name", "Léa", "--languages", "fr,en"],
                           check=True, capture_output=True, text=True).stdout.strip().split(",")
    code, secret = added[0], added[-1]
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = subprocess.Popen([shelftag, "serve", "--db", database, "--port", str(port), "--log-level", "warning"], stderr=subprocess.DEVNULL)
    chromium = None
    try:
        wait_for(base + "/healthz")
        reserve = urllib.request.Request(
            f"{base}/products/{GTIN}/reserve?a={code}", method="POST", headers={"Content-Type": "application/json"},
            data=json.dumps({"store": "PAR01", "quantity": 2, "name": "Ana Martin", "contact": "ana@example.com"}).encode())
        held = json.loads(urllib.request.urlopen(reserve).read())["code"]
        # A second reservation, cancelled by the shopper: the page of a hold that no longer holds anything.
        second = urllib.request.Request(
            f"{base}/products/{GTIN}/reserve", method="POST", headers={"Content-Type": "application/json"},
            data=json.dumps({"store": "PAR01", "quantity": 1, "name": "Ana Martin", "contact": "ana@example.com"}).encode())
        cancelled = json.loads(urllib.request.urlopen(second).read())["code"]
        urllib.request.urlopen(urllib.request.Request(
            f"{base}/reservations/{cancelled}/cancel", method="POST", headers={"Accept": "application/json"})).read()
        help_request = urllib.request.Request(
            base + "/help", method="POST", data=f"gtin={GTIN}&s=PAR01&t=T42".encode(),
            headers={"Content-Type": "application/x-www-form-urlencoded"})
        try:
            urllib.request.build_opener(NoRedirect()).open(help_request)
        except urllib.error.HTTPError:
            pass
        session = sign_in(base, code, secret)
        # A third, by phone, prepared by Léa and its shopper told: the queue's message link and record.
        third = urllib.request.Request(
            f"{base}/products/{GTIN}/reserve", method="POST", headers={"Content-Type": "application/json"},
            data=json.dumps({"store": "PAR01", "quantity": 1, "name": "Bruno Petit", "contact": "06 12 34 56 78"}).encode())
        ready = json.loads(urllib.request.urlopen(third).read())["code"]
        for action in ["ready", "told"]:
            urllib.request.urlopen(urllib.request.Request(
                f"{base}/api/stores/PAR01/reservations/{ready}/{action}", method="POST", data=b"{}",
                headers={"Content-Type": "application/json", "Accept": "application/json", "Cookie": f"shelftag_session={session}"})).read()
        print("Screenshots:")
        for language in ["fr", "en", "de"]:
            chromium = Chromium(options.chromium, language)
            out = lambda name: os.path.join(options.out, f"{name}-{language}.png")
            chromium.shoot(f"{base}/products/{GTIN}?s=PAR01&a={code}", out("shopper-advisor-390"), 390, True)
            # Out of stock in Paris: the options with what, when and at which price; the form; an error page.
            chromium.shoot(f"{base}/products/03760001045956?s=PAR01", out("shopper-out-of-stock-390"), 390, True)
            chromium.shoot(f"{base}/products/{GTIN}/reserve?s=PAR01", out("shopper-reserve-390"), 390, True)
            chromium.shoot(f"{base}/01/03760001999990", out("shopper-error-390"), 390, True)
            chromium.shoot(f"{base}/reservations/{held}?shopper=1", out("shopper-reservation-held-390"), 390, True)
            chromium.shoot(f"{base}/reservations/{cancelled}?shopper=1", out("shopper-reservation-cancelled-390"), 390, True)
            chromium.call("Network.setCookie", name="shelftag_session", value=session, url=base + "/", httpOnly=True, sameSite="Strict")
            chromium.shoot(f"{base}/work", out("work-home-1024"), 1024, False)
            chromium.shoot(f"{base}/work/products/{GTIN}?t=T42", out("work-product-1024"), 1024, False)
            chromium.shoot(f"{base}/work/queue", out("work-queue-1024"), 1024, False)
            chromium.close()
            chromium = None
    finally:
        if chromium:
            chromium.close()
        server.terminate()
        server.wait()


if __name__ == "__main__":
    main()
