"""The pages people look at, in headless Chromium: screenshots (make screenshots) or layout checks (make test).

Loads the samples into a throwaway database, adds an associate, starts `shelftag serve`, makes a credited
reservation and a help request, signs the associate in, then drives Chromium over the DevTools protocol:
the shopper's pages at 390 px (a product with an advisor, out of stock, the reservation form, sent empty, an error page, a held
and a cancelled reservation, the help request, the associate's own page) and the work view at 1024 px (sign-in,
home with the help request, staff product view, preparation queue, the associate's own reservations).

--out DIR: a PNG of each page in French, English and German, and where each went.
--check: each page in every language of Templates/messages, laid out as a person sees it: nothing runs past the
window's edge or the page's margin, no box cuts or scrolls its content, the work view's header on one line at
1024 px; and WCAG 2.2 AA's measurable rules: every control, link and picture named, text contrast, 24 px targets,
zoom allowed, the page's language and title. At 390 and 320 px for the shopper's pages, 1024, 768 and 360 px (an
associate's handheld) for the work view. Prints each problem (page, width, language, element, by how much) and exits
1 if there is one.
"""

import argparse, base64, http.cookiejar, json, os, re, shutil, socket, subprocess, sys, tempfile, time, urllib.parse, urllib.request

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
    sys.exit(f"chromium_pages: nothing answers at {url}")


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
            sys.exit(f"chromium_pages: sign-in answered {answer.code}")
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
                    sys.exit(f"chromium_pages: {method}: {message['error']}")
                return message.get("result", {})

    def load(self, url, width, mobile):
        """Opens the page; a URL ending in #submit then sends its form empty, as a shopper who pressed the button
        at once would (the browser's own checks skipped), and shows the page the server answers."""
        self.call("Emulation.setDeviceMetricsOverride", width=width, height=800, deviceScaleFactor=1, mobile=mobile)
        page = url.removesuffix("#submit")
        self.call("Page.navigate", url=page)
        self.wait_for_load(page)
        if page != url:
            self.call("Runtime.evaluate", expression='document.querySelector("form[method=post]").submit()')
            self.wait_for_load(url)

    def wait_for_load(self, url):
        try:
            while json.loads(self.socket.recv()).get("method") != "Page.loadEventFired":
                pass
        except websocket.WebSocketTimeoutException:
            sys.exit(f"chromium_pages: {url} did not finish loading in 30 s")

    def shoot(self, url, path, width, mobile):
        self.load(url, width, mobile)
        height = self.call("Page.getLayoutMetrics")["cssContentSize"]["height"]
        self.call("Emulation.setDeviceMetricsOverride", width=width, height=int(height), deviceScaleFactor=1, mobile=mobile)
        data = self.call("Page.captureScreenshot", format="png")["data"]
        with open(path, "wb") as file:
            file.write(base64.b64decode(data))
        print(f"  {path}  ({width} px)  {url}")

    def problems(self, url, width, mobile):
        """What a person (or a screen reader) would find wrong with the page at this width, a line each."""
        self.load(url, width, mobile)
        result = self.call("Runtime.evaluate", expression=PAGE_CHECK, returnByValue=True)
        if "exceptionDetails" in result:
            sys.exit(f"chromium_pages: the page check failed on {url}: {result['exceptionDetails']}")
        return result["result"]["value"]

    def close(self):
        self.socket.close()
        self.process.terminate()
        self.process.wait()
        shutil.rmtree(self.profile, ignore_errors=True)


# Run in the page: the outermost element of each problem only, so one wide table is one line, not one per cell.
PAGE_CHECK = r"""(() => {
  const width = document.documentElement.clientWidth;
  const problems = [];
  const reported = [];
  const name = e => {
    const classes = typeof e.className === "string" && e.className.trim() ? "." + e.className.trim().split(/\s+/).join(".") : "";
    const text = (e.innerText || "").trim().replace(/\s+/g, " ").slice(0, 40);
    return `<${e.tagName.toLowerCase()}${classes}>` + (text ? ` "${text}"` : "");
  };
  const report = (e, what) => {
    if (reported.some(outer => outer.contains(e))) return;
    reported.push(e);
    problems.push(`${name(e)} ${what}`);
  };
  if (document.documentElement.scrollWidth > width)
    problems.push(`the page is ${document.documentElement.scrollWidth} px wide in a ${width} px window`);
  // The page's column: the body's box within its padding.
  const body = document.body.getBoundingClientRect();
  const bodyStyle = getComputedStyle(document.body);
  const left = body.left + parseFloat(bodyStyle.paddingLeft), right = body.right - parseFloat(bodyStyle.paddingRight);
  for (const e of document.body.querySelectorAll("*")) {
    const style = getComputedStyle(e);
    const box = e.getBoundingClientRect();
    if (style.display === "none" || style.visibility === "hidden" || (box.width === 0 && box.height === 0)) continue;
    if (box.right > width + 1 || box.left < -1)
      report(e, `runs past the window's edge (${Math.round(box.left)} to ${Math.round(box.right)} px)`);
    else if (box.right > right + 1 || box.left < left - 1)
      report(e, `runs past the page's margin (${Math.round(box.left)} to ${Math.round(box.right)} px, the page ${Math.round(left)} to ${Math.round(right)})`);
    // Form fields scroll their own text by design; every other box should show all it holds.
    if (["INPUT", "SELECT", "TEXTAREA"].includes(e.tagName)) continue;
    if (style.overflowX !== "visible" && e.scrollWidth > e.clientWidth + 1)
      report(e, `cuts or scrolls its content (${e.scrollWidth} px in ${e.clientWidth})`);
  }
  // WCAG 2.2 AA, which the European Accessibility Act asks of shops: a name for every control, image and link,
  // text contrast (1.4.3), targets of 24 px (2.5.8), zoom left on, the page's language and title.
  const accessibleName = e => {
    const labelled = (e.getAttribute("aria-labelledby") || "").split(/\s+/).map(id => document.getElementById(id)).filter(Boolean);
    const label = e.id ? document.querySelector(`label[for="${CSS.escape(e.id)}"]`) : null;
    return [e.getAttribute("aria-label"), ...labelled.map(l => l.innerText), label && label.innerText, e.closest("label") && e.closest("label").innerText,
      e.getAttribute("title"), e.getAttribute("alt"), ["BUTTON", "A"].includes(e.tagName) ? e.innerText : "",
      e.tagName === "INPUT" && ["submit", "button"].includes(e.type) ? e.value : ""].some(text => text && text.trim());
  };
  const luminance = ([r, g, b]) => {
    const linear = c => { c /= 255; return c <= 0.03928 ? c / 12.92 : Math.pow((c + 0.055) / 1.055, 2.4); };
    return 0.2126 * linear(r) + 0.7152 * linear(g) + 0.0722 * linear(b);
  };
  const rgba = text => (text.match(/[\d.]+/g) || []).map(Number);
  const background = e => {
    for (let at = e; at; at = at.parentElement) {
      const [r, g, b, a = 1] = rgba(getComputedStyle(at).backgroundColor);
      if (a >= 0.99) return [r, g, b];
      if (getComputedStyle(at).backgroundImage !== "none") return null;  // text on a picture: not measurable here
    }
    return [255, 255, 255];
  };
  if (!document.documentElement.lang) problems.push("<html> names no language");
  if (!document.title.trim()) problems.push("the page has no title");
  const viewport = document.querySelector('meta[name="viewport"]');
  if (viewport && /user-scalable\s*=\s*(no|0)|maximum-scale\s*=\s*1(\.0*)?\b/.test(viewport.content)) problems.push("the page stops the reader zooming");
  for (const e of document.body.querySelectorAll("input:not([type=hidden]), select, textarea, button, a[href], img")) {
    if (!e.getClientRects().length) continue;
    // alt="" says a picture is decoration (the product's photo beside its name): a choice, not an omission.
    if (!(e.tagName === "IMG" && e.hasAttribute("alt")) && !accessibleName(e)) problems.push(`${name(e)} has no name a screen reader can say`);
  }
  // A target under 24 px passes when it is a link in a sentence, or when a 24 px circle on its centre touches no other
  // target and no other small target's circle (WCAG's spacing exception).
  const targets = [...document.body.querySelectorAll("button, input:not([type=hidden]), select, a[href]")]
    .map(e => ({ e, box: e.getBoundingClientRect() })).filter(t => t.box.width);
  const centre = box => [(box.left + box.right) / 2, (box.top + box.bottom) / 2];
  const small = targets.filter(t => t.box.width < 24 || t.box.height < 24);
  for (const t of small) {
    const inText = t.e.tagName === "A" && getComputedStyle(t.e).display === "inline" && (t.e.parentElement.innerText || "").trim() !== t.e.innerText.trim();
    if (inText) continue;
    const [x, y] = centre(t.box);
    const crowded = targets.some(other => {
      if (other === t) return false;
      const dx = Math.max(other.box.left - x, 0, x - other.box.right), dy = Math.max(other.box.top - y, 0, y - other.box.bottom);
      if (Math.hypot(dx, dy) < 12) return true;
      const [ox, oy] = centre(other.box);
      return small.includes(other) && Math.hypot(ox - x, oy - y) < 24;
    });
    if (crowded) problems.push(`${name(t.e)} is a ${Math.round(t.box.width)} × ${Math.round(t.box.height)} px target too near another (24 × 24 at least, or room around it)`);
  }
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT, { acceptNode: t => t.textContent.trim() ? NodeFilter.FILTER_ACCEPT : NodeFilter.FILTER_REJECT });
  const measured = new Set();
  for (let text = walker.nextNode(); text; text = walker.nextNode()) {
    const e = text.parentElement;
    if (measured.has(e) || !e.getClientRects().length) continue;
    measured.add(e);
    const style = getComputedStyle(e);
    if (style.visibility === "hidden" || e.closest("[aria-hidden=true]")) continue;
    const back = background(e);
    if (!back) continue;
    const [r, g, b, a = 1] = rgba(style.color);
    const fore = [r, g, b].map((c, i) => c * a + back[i] * (1 - a));
    const [light, dark] = [luminance(fore), luminance(back)].sort((x, y) => y - x);
    const ratio = (light + 0.05) / (dark + 0.05);
    const size = parseFloat(style.fontSize), bold = parseInt(style.fontWeight) >= 700;
    const needed = size >= 24 || (bold && size >= 18.66) ? 3 : 4.5;
    if (ratio < needed) report(e, `has a contrast of ${ratio.toFixed(2)}:1 (${needed}:1 at least): ${style.color} on rgb(${back.join(", ")})`);
  }
  // A tablet held sideways has room for the work view's header on one line.
  const header = document.querySelector("body > header");
  if (width >= 1024 && header && header.children.length > 1) {
    const middles = [...header.children].map(c => { const b = c.getBoundingClientRect(); return (b.top + b.bottom) / 2; });
    if (Math.max(...middles) - Math.min(...middles) > 8) problems.push(`<header> takes more than one line`);
  }
  return problems;
})()"""


REPOSITORY = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def main():
    arguments = argparse.ArgumentParser()
    arguments.add_argument("--shelftag", default=".build/release/shelftag")
    arguments.add_argument("--chromium", default="/usr/bin/chromium")
    mode = arguments.add_mutually_exclusive_group()
    mode.add_argument("--out", default="screenshots", help="where the screenshots go")
    mode.add_argument("--check", action="store_true", help="check every page's layout instead of taking screenshots")
    options = arguments.parse_args()
    shelftag = os.path.abspath(options.shelftag)
    work = tempfile.mkdtemp(prefix="shelftag-pages-")
    database = os.path.join(work, "shelftag.sqlite")
    samples = [os.path.join(REPOSITORY, "Samples", name) for name in ["stores.csv", "products.xml", "local_inventory.tsv", "product_reviews.xml"]]
    subprocess.run([shelftag, "import", "--db", database, "--as-of", "2026-11-20T06:00Z", *samples], check=True, stdout=subprocess.DEVNULL)
    added = subprocess.run([shelftag, "associates", "add", "--db", database, "--store", "PAR01", "--name", "Léa", "--languages", "fr,en"],
                           check=True, capture_output=True, text=True).stdout.strip().split(",")
    code, secret = added[0], added[-1]
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = subprocess.Popen([shelftag, "serve", "--db", database, "--port", str(port), "--log-level", "warning"], stderr=subprocess.DEVNULL,
                              cwd=REPOSITORY)
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
            sys.exit("chromium_pages: a help request answered without sending the shopper to its page")
        except urllib.error.HTTPError as answer:
            help_page = urllib.parse.urlsplit(answer.headers["Location"]).path
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
        # (name, path, on a phone); the work view's pages, after the sign-in page, need the associate's session. Screenshots at a phone's usual
        # 390 px and a tablet's 1024 px held sideways; the check also at a small phone's 320 px, a tablet upright and
        # an associate's handheld.
        signed_out_pages = [
            ("shopper-advisor", f"/products/{GTIN}?s=PAR01&a={code}", True),
            # Out of stock in Paris: the options with what, when and at which price; the form; an error page.
            ("shopper-out-of-stock", "/products/03760001045956?s=PAR01", True),
            ("shopper-reserve", f"/products/{GTIN}/reserve?s=PAR01", True),
            ("shopper-reserve-refused", f"/products/{GTIN}/reserve?s=PAR01#submit", True),
            ("shopper-error", "/01/03760001999990", True),
            ("shopper-reservation-held", f"/reservations/{held}?shopper=1", True),
            ("shopper-reservation-cancelled", f"/reservations/{cancelled}?shopper=1", True),
            ("shopper-help", help_page, True),
            ("shopper-associate", f"/associates/{code}", True),
            ("work-sign-in", "/work/sign-in", False),
        ]
        signed_in_pages = [
            ("work-home", "/work", False),
            ("work-product", f"/work/products/{GTIN}?t=T42", False),
            ("work-queue", "/work/queue", False),
            ("work-mine", "/work/queue?mine=1", False),
        ]
        if options.check:
            languages = sorted(name[:-5] for name in os.listdir(os.path.join(REPOSITORY, "Templates", "messages")) if name.endswith(".json"))
            widths = {True: [390, 320], False: [1024, 768, 360]}
        else:
            languages = ["fr", "en", "de"]
            widths = {True: [390], False: [1024]}
            os.makedirs(options.out, exist_ok=True)
            print("Screenshots:")
        found = []
        pages = 0
        for language in languages:
            chromium = Chromium(options.chromium, language)
            for index, (name, path, mobile) in enumerate(signed_out_pages + signed_in_pages):
                if index == len(signed_out_pages):
                    chromium.call("Network.setCookie", name="shelftag_session", value=session, url=base + "/", httpOnly=True, sameSite="Strict")
                for width in widths[mobile]:
                    pages += 1
                    if options.check:
                        found += [f"{name}-{width} ({language}, {path}): {problem}" for problem in chromium.problems(base + path, width, mobile)]
                    else:
                        chromium.shoot(base + path, os.path.join(options.out, f"{name}-{width}-{language}.png"), width, mobile)
            chromium.close()
            chromium = None
        if options.check:
            print("\n".join(found) if found else f"{pages} pages in {len(languages)} languages ({', '.join(languages)}): no problem found")
            sys.exit(1 if found else 0)
    finally:
        if chromium:
            chromium.close()
        server.terminate()
        server.wait()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
