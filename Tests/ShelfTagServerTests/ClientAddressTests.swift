import Foundation
import Testing

@testable import ShelfTagServer

@Suite("Client addresses behind a load balancer")
struct ClientAddressTests {
    @Test("address ranges: IPv4, IPv6, an IPv4-mapped peer, and bad ranges named")
    func ranges() throws {
        let private10 = try AddressRange("10.0.0.0/8")
        #expect(private10.contains("10.200.3.4") && private10.contains("::ffff:10.0.0.1"))
        #expect(!private10.contains("11.0.0.1") && !private10.contains("fd00::1") && !private10.contains("balancer"))
        let one = try AddressRange("192.0.2.7")
        #expect(one.contains("192.0.2.7") && !one.contains("192.0.2.8"))
        let uniqueLocal = try AddressRange("fd00::/8")
        #expect(uniqueLocal.contains("fd12:3456::1") && !uniqueLocal.contains("fe80::1") && !uniqueLocal.contains("10.0.0.1"))
        let odd = try AddressRange("172.16.0.0/12")
        #expect(odd.contains("172.31.255.255") && !odd.contains("172.32.0.0"))
        #expect(try AddressRange("0.0.0.0/0").contains("203.0.113.9"))
        #expect(throws: AddressRangeError.badPrefix("10.0.0.0/33", maximum: 32)) { try AddressRange("10.0.0.0/33") }
        #expect(throws: AddressRangeError.badPrefix("fd00::/x", maximum: 128)) { try AddressRange("fd00::/x") }
        #expect(throws: AddressRangeError.notAnAddress("balancer.internal")) { try AddressRange("balancer.internal") }
    }

    @Test("the client is the peer, or from a trusted proxy the last address of X-Forwarded-For no trusted proxy holds")
    func clients() throws {
        let behind = ClientAddresses(trustedProxies: [try AddressRange("10.0.0.0/8")])
        #expect(behind.client(peer: "10.0.0.2", forwardedFor: ["203.0.113.9"]) == "203.0.113.9")
        // What the client wrote itself (left) is passed over; so are the proxies of the chain (right).
        #expect(behind.client(peer: "10.0.0.2", forwardedFor: ["198.51.100.1, 203.0.113.9", "10.0.0.5"]) == "203.0.113.9")
        #expect(behind.client(peer: "10.0.0.2", forwardedFor: ["203.0.113.9:5123"]) == "203.0.113.9")
        #expect(behind.client(peer: "10.0.0.2", forwardedFor: ["[2001:db8::1]:5123"]) == "2001:db8::1")
        #expect(behind.client(peer: "10.0.0.2", forwardedFor: ["2001:db8::1"]) == "2001:db8::1")
        #expect(behind.client(peer: "10.0.0.2", forwardedFor: ["10.0.0.9, 10.0.0.5"]) == "10.0.0.9", "every hop trusted: the first")
        #expect(behind.client(peer: "10.0.0.2", forwardedFor: []) == "10.0.0.2")
        #expect(behind.client(peer: "10.0.0.2", forwardedFor: ["203.0.113.9, ", " "]) == "203.0.113.9", "empty entries are no address")
        // A client that connects directly and claims another address is counted as itself.
        #expect(behind.client(peer: "203.0.113.50", forwardedFor: ["198.51.100.1"]) == "203.0.113.50")
        #expect(ClientAddresses(trustedProxies: []).client(peer: "10.0.0.2", forwardedFor: ["203.0.113.9"]) == "10.0.0.2")
        #expect(behind.client(peer: nil, forwardedFor: ["203.0.113.9"]) == "unknown")
    }

    @Test("behind a trusted proxy each shopper has their own reservation limit; a direct client cannot claim another address")
    func limitsPerShopper() async throws {
        let path = "/products/\(promotion)/reserve"
        func reserve(_ server: TestServer, as shopper: String) async throws -> Int {
            try await server.request(
                path, method: "POST", headers: ["Content-Type": "application/json", "X-Forwarded-For": shopper], body: reserveBody()
            ).status
        }
        var behind = TestServer.configuration(reservationsPerMinute: 1)
        behind.trustedProxies = [try AddressRange("127.0.0.1")]
        try await TestServer.with(configuration: behind) { server in
            let statuses = [
                try await reserve(server, as: "203.0.113.1"), try await reserve(server, as: "203.0.113.2"), try await reserve(server, as: "203.0.113.1"),
            ]
            #expect(statuses == [201, 201, 429], "another shopper through the same balancer has a limit of their own")
        }
        try await TestServer.with(configuration: TestServer.configuration(reservationsPerMinute: 1)) { server in
            let statuses = [try await reserve(server, as: "203.0.113.1"), try await reserve(server, as: "203.0.113.2")]
            #expect(statuses == [201, 429], "no proxy trusted: the header is the client's own claim")
        }
    }
}
