import Dispatch

/// The `userdata` of a C callback: the Swift object behind it, retained once for the registration.
///
/// The C ABI runs the userdata free function exactly once on every path (after `sp_token_free`, and
/// when the registration fails), so that function is the one place the object is released.
enum CallbackUserdata {
    /// Retains `object` for a registration and returns it as `userdata`.
    static func retain(_ object: AnyObject & Sendable) -> UnsafeMutableRawPointer {
        Unmanaged.passRetained(object).toOpaque()
    }

    /// The object behind `userdata`, without changing its retain count (valid until the free function runs).
    static func object<T: AnyObject>(_ userdata: UnsafeMutableRawPointer?, as type: T.Type) -> T? {
        guard let userdata else { return nil }
        return Unmanaged<AnyObject>.fromOpaque(userdata).takeUnretainedValue() as? T
    }

    /// The userdata free function of every registration: releases what `retain` retained.
    static let free: @convention(c) (UnsafeMutableRawPointer?) -> Void = { userdata in
        guard let userdata else { return }
        Unmanaged<AnyObject>.fromOpaque(userdata).release()
    }
}

/// The number of `Delivery` objects alive (a generic class cannot hold stored statics).
private let liveDeliveries = Locked(0)

/// How many callback deliveries (observers, log callbacks) are alive, for leak checks in tests.
var liveDeliveryCount: Int { liveDeliveries.withLock { $0 } }

/// Hands values from an engine thread to a caller-chosen queue, and stops once cancelled.
final class Delivery<Value: Sendable>: Sendable {
    let queue: DispatchQueue
    let handler: @Sendable (Value) -> Void
    private let cancelled = Locked(false)

    init(queue: DispatchQueue, handler: @escaping @Sendable (Value) -> Void) {
        self.queue = queue
        self.handler = handler
        liveDeliveries.withLock { $0 += 1 }
    }

    deinit { liveDeliveries.withLock { $0 -= 1 } }

    /// Queues `value` for the handler; dropped if cancelled before it runs.
    func deliver(_ value: Value) {
        queue.async {
            guard !self.cancelled.withLock({ $0 }) else { return }
            self.handler(value)
        }
    }

    /// After this returns, no delivery that has not started calls the handler.
    func cancel() { cancelled.withLock { $0 = true } }
}
