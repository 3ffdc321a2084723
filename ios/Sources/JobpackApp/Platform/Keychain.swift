// The device's secrets in the Keychain: the client key the hub issued (PEM) and the database
// key, readable only on this device after the first unlock (so background refresh can sync).
// The core takes them as values in `Config`; nothing here writes them to a file.
// Compiled on Apple platforms only (Security).

#if canImport(Security)
import Foundation
import Security

public enum KeychainError: Error, Equatable {
    case unexpectedStatus(OSStatus)
    case notText
}

public struct Keychain: Sendable {
    public static let clientKey = "client-key.pem"
    public static let databaseKey = "database-key"

    private let service: String

    public init(service: String = "uk.jobpack.engineer") {
        self.service = service
    }

    /// The stored value, or `nil` when there is none.
    public func data(for account: String) throws -> Data? {
        var query = baseQuery(account)
        query[kSecReturnData as String] = true
        query[kSecMatchLimit as String] = kSecMatchLimitOne
        var item: CFTypeRef?
        let status = SecItemCopyMatching(query as CFDictionary, &item)
        switch status {
        case errSecSuccess: return item as? Data
        case errSecItemNotFound: return nil
        default: throw KeychainError.unexpectedStatus(status)
        }
    }

    public func set(_ data: Data, for account: String) throws {
        let update = [kSecValueData as String: data]
        var status = SecItemUpdate(baseQuery(account) as CFDictionary, update as CFDictionary)
        if status == errSecItemNotFound {
            var add = baseQuery(account)
            add[kSecValueData as String] = data
            add[kSecAttrAccessible as String] = kSecAttrAccessibleAfterFirstUnlockThisDeviceOnly
            status = SecItemAdd(add as CFDictionary, nil)
        }
        guard status == errSecSuccess else { throw KeychainError.unexpectedStatus(status) }
    }

    public func remove(_ account: String) throws {
        let status = SecItemDelete(baseQuery(account) as CFDictionary)
        guard status == errSecSuccess || status == errSecItemNotFound else {
            throw KeychainError.unexpectedStatus(status)
        }
    }

    /// The client key PEM the hub issued at enrolment.
    public func clientKeyPEM() throws -> String? {
        guard let data = try data(for: Self.clientKey) else { return nil }
        guard let text = String(data: data, encoding: .utf8) else { throw KeychainError.notText }
        return text
    }

    /// The database key, made (32 random bytes) on first use.
    public func databaseKey() throws -> Data {
        if let key = try data(for: Self.databaseKey) { return key }
        var key = Data(count: 32)
        let status = key.withUnsafeMutableBytes { SecRandomCopyBytes(kSecRandomDefault, 32, $0.baseAddress!) }
        guard status == errSecSuccess else { throw KeychainError.unexpectedStatus(status) }
        try set(key, for: Self.databaseKey)
        return key
    }

    private func baseQuery(_ account: String) -> [String: Any] {
        [
            kSecClass as String: kSecClassGenericPassword,
            kSecAttrService as String: service,
            kSecAttrAccount as String: account,
        ]
    }
}
#endif
