import Foundation
import Testing

@testable import ShelfTagFeeds

@Suite("Stores CSV: what a hostile or odd file gets")
struct CommaSeparatedTests {
    func read(_ text: String) throws -> (stores: [String], rejected: [String]) {
        let path = try temporaryFile(text, name: "stores.csv")
        var stores: [String] = []
        var rejected: [String] = []
        try StoresFile.read(
            path: path, displayName: "stores.csv", row: { store, _ in stores.append(store.name) }, rejected: { rejected.append($0.description) })
        return (stores, rejected)
    }

    @Test("text after a closing quote is rejected on its line, not glued to the field")
    func strayTextAfterQuote() throws {
        let header = "code,name,address,latitude,longitude,timezone\n"
        let outcome = try read(header + "PAR01,\"Paris\"junk,1 rue,48.8,2.3,Europe/Paris\nLYO02,\"Lyon, \"\"Part-Dieu\"\"\",2 rue,45.7,4.8,Europe/Paris\n")
        #expect(outcome.stores == ["Lyon, \"Part-Dieu\""])
        #expect(outcome.rejected.count == 1 && outcome.rejected[0].hasPrefix("stores.csv:2: row: text follows a closing quote"))
    }

    @Test("a header of 30,000 columns (checked through a set: the pairwise check took 2.9 s) names its duplicate")
    func wideHeader() throws {
        let columns = (0..<30_000).map { "c\($0)" } + ["code", "name", "address", "latitude", "longitude", "timezone", "c7"]
        #expect {
            _ = try read(columns.joined(separator: ",") + "\n")
        } throws: { error in
            (error as? FeedError)?.description == "stores.csv:1: header: column 'c7' appears twice"
        }
    }

    @Test("a file with lines ending in CR alone says so")
    func carriageReturnOnly() throws {
        #expect {
            _ = try read("code,name,address,latitude,longitude,timezone\rPAR01,Paris,1 rue,48.8,2.3,Europe/Paris\r")
        } throws: { error in
            (error as? FeedError)?.description.contains("carriage return alone") == true
        }
    }
}
