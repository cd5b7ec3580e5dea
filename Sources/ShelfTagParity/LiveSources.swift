import Foundation
import ShelfTagDomain

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// GETs URLs with a bound on requests in flight; a connection failure is an error, an HTTP error an answer.
enum Fetcher {
    struct Answer: Sendable {
        let status: Int
        let body: Data
    }

    static func fetchAll(_ urls: [String], accept: String, concurrency: Int) async throws(ParityError) -> [Answer] {
        let session = URLSession(configuration: .ephemeral)
        defer { session.finishTasksAndInvalidate() }
        // Children never throw and the group is never cancelled: cancelling a task group with URLSession requests in
        // flight deadlocks FoundationNetworking on Linux (seen here). After a failure no new request starts, and the
        // ones in flight finish before the error is reported.
        let outcomes = await withTaskGroup(of: (Int, Result<Answer, ParityError>).self) { group in
            var results = [Result<Answer, ParityError>?](repeating: nil, count: urls.count)
            var next = 0
            var failed = false
            func start() {
                let index = next
                next += 1
                group.addTask {
                    guard let url = URL(string: urls[index]) else { return (index, .failure(.unreachable(url: urls[index], reason: "not a URL"))) }
                    var request = URLRequest(url: url, timeoutInterval: 15)
                    request.setValue(accept, forHTTPHeaderField: "Accept")
                    do {
                        let (data, response) = try await session.data(for: request)
                        return (index, .success(Answer(status: (response as? HTTPURLResponse)?.statusCode ?? 0, body: data)))
                    } catch {
                        return (index, .failure(.unreachable(url: urls[index], reason: error.localizedDescription)))
                    }
                }
            }
            while next < min(concurrency, urls.count) { start() }
            while let (index, outcome) = await group.next() {
                results[index] = outcome
                if case .failure = outcome { failed = true }
                if !failed && next < urls.count { start() }
            }
            return results
        }
        var answers: [Answer] = []
        for outcome in outcomes {
            switch outcome {
            case .success(let answer): answers.append(answer)
            case .failure(let error): throw error
            case nil: continue
            }
        }
        return answers
    }
}

/// Reads the schema.org Offer price from a page's JSON-LD, as price monitors and Google do.
enum JSONLD {
    /// `11.65 EUR` from the first Product's `offers` (an Offer, a list of them or an AggregateOffer's `lowPrice`).
    static func offerPrice(in html: String) -> String? {
        var rest = html[...]
        while let start = rest.range(of: "<script type=\"application/ld+json\">") ?? rest.range(of: "<script type='application/ld+json'>") {
            guard let end = rest.range(of: "</script>", range: start.upperBound..<rest.endIndex) else { return nil }
            let json = rest[start.upperBound..<end.lowerBound]
            rest = rest[end.upperBound...]
            guard let object = try? JSONSerialization.jsonObject(with: Data(json.utf8)) else { continue }
            let candidates = (object as? [[String: Any]]) ?? [(object as? [String: Any]) ?? [:]]
            for item in candidates + candidates.flatMap({ ($0["@graph"] as? [[String: Any]]) ?? [] }) where item["@type"] as? String == "Product" {
                let offers = (item["offers"] as? [[String: Any]])?.first ?? (item["offers"] as? [String: Any])
                guard let offers, let currency = offers["priceCurrency"] as? String else { continue }
                let price = offers["price"] ?? offers["lowPrice"]
                if let text = price as? String, let money = try? Money(amount: text, currency: try Currency(code: currency)) { return money.feedValue }
                if let number = price as? NSNumber, let money = try? Money(amount: number.stringValue, currency: try Currency(code: currency)) {
                    return money.feedValue
                }
            }
        }
        return nil
    }
}
