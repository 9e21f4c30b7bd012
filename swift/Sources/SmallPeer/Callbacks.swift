import Dispatch

/// The Swift objects behind C callbacks, keyed by the number passed as `userdata`.
///
/// A number rather than a retained pointer: when a registration fails, the C side may or may not have
/// called the userdata free function already, and removing a key twice is harmless where releasing
/// an object twice is not.
enum CallbackRegistry {
    private static let entries = Locked<(next: UInt, objects: [UInt: any Sendable])>((1, [:]))

    /// Keeps `object` until `unregister` and returns the `userdata` naming it.
    static func register(_ object: any Sendable) -> UnsafeMutableRawPointer {
        let key = entries.withLock { state in
            let key = state.next
            state.next += 1
            state.objects[key] = object
            return key
        }
        return UnsafeMutableRawPointer(bitPattern: key)!
    }

    /// The object registered under `userdata`, if it is still registered and of type `T`.
    static func lookup<T>(_ userdata: UnsafeMutableRawPointer?, as type: T.Type) -> T? {
        guard let userdata else { return nil }
        let key = UInt(bitPattern: userdata)
        return entries.withLock { $0.objects[key] } as? T
    }

    /// Drops the object registered under `userdata`; the userdata free function of every C callback.
    static func unregister(_ userdata: UnsafeMutableRawPointer?) {
        guard let userdata else { return }
        let key = UInt(bitPattern: userdata)
        _ = entries.withLock { $0.objects.removeValue(forKey: key) }
    }

    /// How many callback objects are registered (for leak checks in tests).
    static var count: Int { entries.withLock { $0.objects.count } }
}

/// Hands values from an engine thread to a caller-chosen queue, and stops once cancelled.
final class Delivery<Value: Sendable>: Sendable {
    let queue: DispatchQueue
    let handler: @Sendable (Value) -> Void
    private let cancelled = Locked(false)

    init(queue: DispatchQueue, handler: @escaping @Sendable (Value) -> Void) {
        self.queue = queue
        self.handler = handler
    }

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
