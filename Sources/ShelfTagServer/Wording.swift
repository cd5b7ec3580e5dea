import Foundation
import Hummingbird
import ShelfTagDomain

/// The words of every page in every language of the message catalog (`Templates/messages/*.json`), read once at
/// start-up: a key the code asks for and English lacks stops the server there, never per request.
struct Wording: Sendable {
    let catalog: MessageCatalog
    private let byLanguage: [String: LanguageWords]

    init(catalog: MessageCatalog) throws(ServerStartError) {
        self.catalog = catalog
        var byLanguage: [String: LanguageWords] = [:]
        for language in catalog.languages {
            let read = MessageReader(catalog: catalog, language: language)
            byLanguage[language] = LanguageWords(read)
            if !read.absent.isEmpty { throw .messagesMissing(language: MessageCatalog.fallbackLanguage, keys: read.absent) }
        }
        self.byLanguage = byLanguage
    }

    /// The words for a page in `locale` (`de-AT` → German), English when no file writes its language.
    func callAsFunction(_ locale: String) -> LanguageWords { byLanguage[catalog.language(of: locale)] ?? byLanguage[MessageCatalog.fallbackLanguage]! }

    /// The client's most preferred language among the catalog's (Accept-Language, RFC 9110 §12.5.4), nil when it
    /// names none of them (or only `*`).
    func preferred(acceptLanguage: String?) -> String? {
        guard let header = acceptLanguage, !header.isEmpty else { return nil }
        for range in AcceptHeader(header).ranked {
            if range == "*" { return nil }
            let primary = String(range.prefix { $0 != "-" && $0 != "_" }).lowercased()
            if catalog.languages.contains(primary) { return primary }
        }
        return nil
    }

    /// The language `request`'s client prefers.
    func preferred(by request: Request) -> String? { preferred(acceptLanguage: request.headers.value(of: .acceptLanguage)) }
}

/// One language's words, for each kind of page.
struct LanguageWords: Sendable {
    let language: String
    let page: PageWords
    let reservation: ReservationWords
    let error: ErrorWords
    let work: WorkWords
    let help: HelpWords

    init(_ read: MessageReader) {
        language = read.language
        page = PageWords(read)
        reservation = ReservationWords(read)
        error = ErrorWords(read)
        work = WorkWords(read)
        help = HelpWords(read)
    }
}

/// A message with named placeholders: `words.noneNearby(["radius": "50 km"])`.
struct Message: Sendable {
    let text: String

    init(_ text: String) { self.text = text }

    func callAsFunction(_ values: [String: String]) -> String { MessageTemplate.fill(text, values) }
}

/// The product page (`page.*`).
struct PageWords: Sendable {
    let inStock, fewLeft, outOfStock, nearbyInStock, nearbyFewLeft, nearby, reviews, noReviews: String
    let reserve, buyOnlinePickUp, shipToStore, deliver, anonymous, priorPrice, until: String
    let unavailable, webPrice, storeNotFound, advisor, forget: String
    let deliverDetail, pickupUntimed, closedNow, map: String
    /// Whether the store is open: until when, or when it opens (today, tomorrow, or a day this week).
    let openUntil, opensToday, opensTomorrow, opensOn: Message
    let noneNearby, reviewCount, reviewsShown, visit, speaks, askFor, remembered, ecoParticipation: Message
    /// The tag shows another price than today's: the higher one now, the lower shelf price applies (France), or ask.
    let staleNotice, staleLowerApplies, staleLowerAsk: Message
    let reserveNote, pickupNote, shipNote: Message
    private let slas: [PickupSLA: String]

    init(_ read: MessageReader) {
        inStock = read("page.inStock")
        fewLeft = read("page.fewLeft")
        outOfStock = read("page.outOfStock")
        nearbyInStock = read("page.nearbyInStock")
        nearbyFewLeft = read("page.nearbyFewLeft")
        nearby = read("page.nearby")
        reviews = read("page.reviews")
        noReviews = read("page.noReviews")
        reserve = read("page.reserve")
        buyOnlinePickUp = read("page.buyOnlinePickUp")
        shipToStore = read("page.shipToStore")
        deliver = read("page.deliver")
        anonymous = read("page.anonymous")
        priorPrice = read("page.priorPrice")
        until = read("page.until")
        unavailable = read("page.unavailable")
        webPrice = read("page.webPrice")
        storeNotFound = read("page.storeNotFound")
        advisor = read("page.advisor")
        forget = read("page.forget")
        deliverDetail = read("page.deliverDetail")
        pickupUntimed = read("page.pickupUntimed")
        noneNearby = Message(read("page.noneNearby"))
        reviewCount = Message(read("page.reviewCount"))
        reviewsShown = Message(read("page.reviewsShown"))
        visit = Message(read("page.visit"))
        speaks = Message(read("page.speaks"))
        askFor = Message(read("page.askFor"))
        remembered = Message(read("page.remembered"))
        ecoParticipation = Message(read("page.ecoParticipation"))
        staleNotice = Message(read("page.staleNotice"))
        staleLowerApplies = Message(read("page.staleLowerApplies"))
        staleLowerAsk = Message(read("page.staleLowerAsk"))
        reserveNote = Message(read("page.reserveNote"))
        pickupNote = Message(read("page.pickupNote"))
        shipNote = Message(read("page.shipNote"))
        closedNow = read("page.closedNow")
        map = read("page.map")
        openUntil = Message(read("page.openUntil"))
        opensToday = Message(read("page.opensToday"))
        opensTomorrow = Message(read("page.opensTomorrow"))
        opensOn = Message(read("page.opensOn"))
        var slas: [PickupSLA: String] = [:]
        for sla in PickupSLA.allCases { slas[sla] = read("page.sla." + Self.key(sla)) }
        self.slas = slas
    }

    /// The store's opening status at `time`, said in `locale` and the store's time zone, and when the words stop
    /// being true: at the closing or opening they name, or at midnight for "opens tomorrow" and "opens Monday".
    func opening(_ status: OpeningStatus, at time: Date, locale: String, timeZone: String) -> (text: String, until: Date?) {
        switch status {
        case .open(let until): return (openUntil(["time": DayText.format(until, locale: locale, timeZone: timeZone, style: .time)]), until)
        case .closed(nil): return (closedNow, nil)
        case .closed(let opensAt?):
            var calendar = Calendar(identifier: .gregorian)
            calendar.timeZone = TimeZone(identifier: timeZone) ?? TimeZone(identifier: "UTC")!
            let today = calendar.startOfDay(for: time)
            let days = calendar.dateComponents([.day], from: today, to: calendar.startOfDay(for: opensAt)).day ?? 2
            let hour = DayText.format(opensAt, locale: locale, timeZone: timeZone, style: .time)
            if days == 0 { return (opensToday(["time": hour]), opensAt) }
            let midnight = calendar.date(byAdding: .day, value: 1, to: today) ?? opensAt
            if days == 1 { return (opensTomorrow(["time": hour]), midnight) }
            return (opensOn(["day": DayText.format(opensAt, locale: locale, timeZone: timeZone, style: .weekdayTime)]), midnight)
        }
    }

    func reserveDetail(hours: Int) -> String { reserveNote(["hours": "\(hours)"]) }
    /// With the feed's `pickup_sla` when it gives one; without, no time is promised.
    func pickupDetail(_ sla: PickupSLA?) -> String { sla.flatMap { slas[$0] }.map { pickupNote(["when": $0]) } ?? pickupUntimed }
    func shipDetail(_ sla: PickupSLA?) -> String { sla.flatMap { slas[$0] }.map { shipNote(["when": $0]) } ?? pickupUntimed }

    /// `same day` → `same_day`: the feed's value as a message key.
    private static func key(_ sla: PickupSLA) -> String {
        String(sla.rawValue.map { $0 == " " || $0 == "-" ? "_" : $0 })
    }
}

/// Error pages (`error.*`): a title and a next step per status, and for any other status.
struct ErrorWords: Sendable {
    let detailLabel, search: String
    private let titles, steps: [String: String]

    init(_ read: MessageReader) {
        detailLabel = read("error.detailLabel")
        search = read("error.search")
        titles = read.group("error.title.")
        steps = read.group("error.next.")
        // Read by name too: a catalog without them stops the start, so `title` and `next` always find one.
        _ = (read("error.title.other"), read("error.next.other"))
    }

    func title(_ status: Int) -> String { titles["\(status)"] ?? titles["other"]! }
    func next(_ status: Int) -> String { steps["\(status)"] ?? steps["other"]! }
}

/// The reservation form and confirmation (`reservation.*`).
struct ReservationWords: Sendable {
    let title, none, quantity, name, contact, submit, confirmed, total, until, ready: String
    let collected, cancelled, expired, collectedNote, cancelledNote, expiredNote: String
    /// The form's two ways to be reached (one is enough), their examples, what is kept and why, and the way back.
    let phone, email, eitherContact, phoneExample, emailExample, privacy, back: String
    /// Nothing left here: where else to reserve.
    let elsewhere: String
    /// The shopper's own way out of a hold.
    let cancel, cancelNote: String
    let available, holdNote, advisor: Message
    /// What to do about a field the form refused, by field; `form` for any other.
    private let faults: [String: String]

    init(_ read: MessageReader) {
        title = read("reservation.title")
        none = read("reservation.none")
        quantity = read("reservation.quantity")
        name = read("reservation.name")
        contact = read("reservation.contact")
        submit = read("reservation.submit")
        confirmed = read("reservation.confirmed")
        total = read("reservation.total")
        until = read("reservation.until")
        ready = read("reservation.ready")
        collected = read("reservation.collected")
        cancelled = read("reservation.cancelled")
        expired = read("reservation.expired")
        collectedNote = read("reservation.collectedNote")
        cancelledNote = read("reservation.cancelledNote")
        expiredNote = read("reservation.expiredNote")
        phone = read("reservation.phone")
        email = read("reservation.email")
        eitherContact = read("reservation.eitherContact")
        phoneExample = read("reservation.phoneExample")
        emailExample = read("reservation.emailExample")
        privacy = read("reservation.privacy")
        back = read("reservation.back")
        elsewhere = read("reservation.elsewhere")
        cancel = read("reservation.cancel")
        cancelNote = read("reservation.cancelNote")
        available = Message(read("reservation.available"))
        holdNote = Message(read("reservation.holdNote"))
        advisor = Message(read("reservation.advisor"))
        faults = read.group("reservation.fault.")
        // Read by name too: a catalog without it stops the start, so `fault` always finds one.
        _ = read("reservation.fault.form")
    }

    func fault(_ field: String) -> String { faults[field] ?? faults["form"]! }

    /// The confirmation page's title for a reservation in `state`.
    func title(_ state: String) -> String {
        switch state {
        case "ready": ready
        case "collected": collected
        case "cancelled": cancelled
        case "expired": expired
        default: confirmed
        }
    }

    /// What a shopper can do about a reservation that no longer holds anything.
    func closedNote(_ state: String) -> String {
        switch state {
        case "collected": collectedNote
        case "cancelled": cancelledNote
        default: expiredNote
        }
    }
}

/// The associates' work view (`work.*`); `work.table.*` reach the templates as `{{words.…}}`.
struct WorkWords: Sendable {
    let signInTitle, code, secret, signIn, wrongSecret, signOut, search, show, notListed: String
    let staleTag, currentTag, unknownTag, timeLeft, lastPrintStale, lastPrintCurrent, allStores: Message
    /// The queue's record of who did what, and the message that tells a shopper their reservation is ready.
    let preparedBy, closedBy, toldAt, toldAtBy, readySubject, readyMessage: Message
    /// The web shop's availability, as the product view states it.
    let webAvailability: [WebAvailability: String]
    let table: [String: String]

    init(_ read: MessageReader) {
        signInTitle = read("work.signInTitle")
        code = read("work.code")
        secret = read("work.secret")
        signIn = read("work.signIn")
        wrongSecret = read("work.wrongSecret")
        signOut = read("work.signOut")
        search = read("work.search")
        show = read("work.show")
        notListed = read("work.notListed")
        staleTag = Message(read("work.staleTag"))
        currentTag = Message(read("work.currentTag"))
        unknownTag = Message(read("work.unknownTag"))
        timeLeft = Message(read("work.timeLeft"))
        lastPrintStale = Message(read("work.lastPrintStale"))
        lastPrintCurrent = Message(read("work.lastPrintCurrent"))
        allStores = Message(read("work.allStores"))
        preparedBy = Message(read("work.preparedBy"))
        closedBy = Message(read("work.closedBy"))
        toldAt = Message(read("work.toldAt"))
        toldAtBy = Message(read("work.toldAtBy"))
        readySubject = Message(read("work.readySubject"))
        readyMessage = Message(read("work.readyMessage"))
        webAvailability = Dictionary(uniqueKeysWithValues: WebAvailability.allCases.map { ($0, read("work.web.\($0.rawValue)")) })
        table = read.group("work.table.")
    }
}

/// The help request's pages (`help.*`).
struct HelpWords: Sendable {
    let title, waiting, someone, closed, lapsed, ask: String
    let coming: Message

    init(_ read: MessageReader) {
        title = read("help.title")
        waiting = read("help.waiting")
        someone = read("help.someone")
        closed = read("help.closed")
        lapsed = read("help.lapsed")
        ask = read("help.ask")
        coming = Message(read("help.coming"))
    }
}
