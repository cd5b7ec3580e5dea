import Foundation

/// A store that has a product on its shelf, seen from another store.
public struct NearbyStock: Sendable, Equatable {
    public let store: Store
    public let available: Int
    public let distanceKilometres: Double

    public init(store: Store, available: Int, distanceKilometres: Double) {
        self.store = store
        self.available = available
        self.distanceKilometres = distanceKilometres
    }
}

/// What a shopper can do next, in the order the page offers it.
public enum NextStep: Sendable, Equatable {
    /// Hold the item for pickup in this store (ShelfTag's reservation).
    case reserveHere(sla: PickupSLA?)
    /// Buy on the web shop and collect here (`pickup_method: buy`).
    case buyOnlinePickUpHere(link: String, sla: PickupSLA?)
    /// Order on the web shop for delivery to this store, when the shelf is empty (`ship to store`).
    case shipToStore(link: String, sla: PickupSLA?)
    /// Have it delivered by the web channel.
    case deliver(link: String)
    /// Go to a store that has it.
    case visitNearby(NearbyStock)

    /// The rules (README, "Reserve or deliver"):
    /// - in stock here: reserve here (`reserve` or no `pickup_method`), or buy online and collect (`buy`), or
    ///   nothing to arrange (`not supported`: it is on the shelf); delivery is offered too when the web has it;
    /// - out of stock here, the web has it: deliver, and order to this store when the feed says `ship to store`;
    /// - out everywhere: the nearby stores that have it, nearest first.
    public static func choose(here: StoreOffer?, availableHere: Int, web: WebOffer, nearby: [NearbyStock]) -> [NextStep] {
        let webHasIt = web.availability == .inStock || web.availability == .backorder || web.availability == .preorder
        var steps: [NextStep] = []
        if let here, availableHere > 0 {
            switch here.pickupMethod {
            case .reserve, .shipToStore, nil: steps.append(.reserveHere(sla: here.pickupSLA))
            case .buy: steps.append(.buyOnlinePickUpHere(link: web.link, sla: here.pickupSLA))
            case .notSupported: break
            }
            if webHasIt { steps.append(.deliver(link: web.link)) }
            return steps
        }
        if webHasIt {
            steps.append(.deliver(link: web.link))
            if let here, here.pickupMethod == .shipToStore { steps.append(.shipToStore(link: web.link, sla: here.pickupSLA)) }
            return steps
        }
        return nearby.filter { $0.available > 0 }.sorted { $0.distanceKilometres < $1.distanceKilometres }.map(NextStep.visitNearby)
    }
}
