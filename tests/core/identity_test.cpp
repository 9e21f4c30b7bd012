// core/identity: the Ed25519 peer identity. Key generation and persistence, the peer key format,
// signatures (RFC 8032 vector, forged or altered ones refused), and damaged key files refused.
#include "identity/identity.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cctype>
#include <fstream>
#include <iterator>
#include <string>

#include "common/error.h"
#include "ditto/ditto.h"
#include "support/expect_error.h"
#include "support/temp_dir.h"

namespace smallpeer {
namespace {

using test_support::expect_error;
using test_support::TempDir;
using Signature = std::array<unsigned char, 64>;

std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}
void write_file(const std::filesystem::path& p, std::string_view bytes) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}
std::string from_hex(std::string_view hex) {
  std::string out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2)
    out.push_back(static_cast<char>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16)));
  return out;
}

// RFC 8032 section 7.1, TEST 1: secret key (seed), public key, and the signature of the empty message.
constexpr std::string_view kSeedHex = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";
constexpr std::string_view kPublicHex = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";
constexpr std::string_view kSignatureHex =
    "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a"
    "100b";

bool is_peer_key(std::string_view key) {
  if (key.size() != 45 || key.substr(0, 2) != "pk") return false;
  for (const char c : key.substr(2))
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_') return false;
  return true;
}

class IdentityTest : public ::testing::Test {
 protected:
  std::filesystem::path key_file() const { return dir_.path() / "peer_identity.key"; }
  TempDir dir_{"identity-test"};
};

TEST_F(IdentityTest, FirstOpenMakesAPrivateKeyFileAndAWellFormedPeerKey) {
  const auto id = PeerIdentity::load_or_create(key_file());
  EXPECT_TRUE(is_peer_key(id.peer_key())) << id.peer_key();
  EXPECT_EQ(PeerIdentity::peer_key_for(id.public_key()), id.peer_key());
  EXPECT_EQ(std::filesystem::file_size(key_file()), 64u);
  struct stat st {};
  ASSERT_EQ(::stat(key_file().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u) << "only the owner may read the secret key";
  EXPECT_FALSE(std::filesystem::exists(key_file().string() + ".tmp")) << "the temporary file was renamed";
}

TEST_F(IdentityTest, ReloadGivesTheSameKeyAndANewFileANewOne) {
  const auto first = PeerIdentity::load_or_create(key_file());
  const std::string bytes = read_file(key_file());
  const auto again = PeerIdentity::load_or_create(key_file());
  EXPECT_EQ(again.peer_key(), first.peer_key());
  EXPECT_EQ(again.public_key(), first.public_key());
  EXPECT_EQ(read_file(key_file()), bytes) << "loading never rewrites the key";
  // The reloaded key signs as the first one did.
  EXPECT_TRUE(PeerIdentity::verify(first.peer_key(), "hello", again.sign("hello")));

  const auto other = PeerIdentity::load_or_create(dir_.path() / "other.key");
  EXPECT_NE(other.peer_key(), first.peer_key());
}

TEST_F(IdentityTest, APersistenceDirectoryKeepsItsPeerKeyAcrossOpens) {
  UserLogOutput::instance().set_console_enabled(false);
  DittoConfig config;
  config.persistence_dir = dir_.path() / "peer";
  std::string key;
  {
    auto d = Ditto::open(config);
    key = d->peer_key();
    EXPECT_TRUE(is_peer_key(key)) << key;
    d->close();
  }
  auto d = Ditto::open(config);
  EXPECT_EQ(d->peer_key(), key);
  d->close();
  DittoConfig elsewhere;
  elsewhere.persistence_dir = dir_.path() / "other-peer";
  auto e = Ditto::open(elsewhere);
  EXPECT_NE(e->peer_key(), key);
  e->close();
}

TEST_F(IdentityTest, MatchesTheRfc8032Vector) {
  write_file(key_file(), from_hex(kSeedHex) + from_hex(kPublicHex));
  const auto id = PeerIdentity::load_or_create(key_file());
  const std::string pub = from_hex(kPublicHex);
  EXPECT_EQ(std::string(id.public_key().begin(), id.public_key().end()), pub);
  // The peer key is "pk" and the unpadded base64url of the public key.
  EXPECT_EQ(id.peer_key(), "pk11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo");
  const Signature sig = id.sign("");
  EXPECT_EQ(std::string(sig.begin(), sig.end()), from_hex(kSignatureHex));
  EXPECT_TRUE(PeerIdentity::verify(id.peer_key(), "", sig));
}

TEST_F(IdentityTest, PeerKeyFormatForKnownKeys) {
  std::array<unsigned char, 32> zeros{};
  EXPECT_EQ(PeerIdentity::peer_key_for(zeros), "pk" + std::string(43, 'A'));
  std::array<unsigned char, 32> ones{};
  ones.fill(0xff);
  EXPECT_EQ(PeerIdentity::peer_key_for(ones), "pk" + std::string(42, '_') + "8");
}

TEST_F(IdentityTest, AlteredOrForgedSignaturesAreRefused) {
  const auto id = PeerIdentity::load_or_create(key_file());
  const auto other = PeerIdentity::load_or_create(dir_.path() / "other.key");
  const std::string message = "smallpeer/1 auth\nnonce\npk\napp";
  const Signature sig = id.sign(message);
  ASSERT_TRUE(PeerIdentity::verify(id.peer_key(), message, sig));

  for (size_t byte = 0; byte < sig.size(); ++byte) {
    Signature altered = sig;
    altered[byte] ^= 0x01;
    EXPECT_FALSE(PeerIdentity::verify(id.peer_key(), message, altered)) << "bit flipped in byte " << byte;
  }
  EXPECT_FALSE(PeerIdentity::verify(id.peer_key(), message + "x", sig)) << "altered message";
  EXPECT_FALSE(PeerIdentity::verify(id.peer_key(), message.substr(1), sig)) << "altered message";
  EXPECT_FALSE(PeerIdentity::verify(other.peer_key(), message, sig)) << "claimed by another peer";
  EXPECT_FALSE(PeerIdentity::verify(id.peer_key(), message, other.sign(message))) << "signed by another peer";
  EXPECT_FALSE(PeerIdentity::verify(id.peer_key(), message, Signature{})) << "all-zero signature";
}

TEST_F(IdentityTest, MalformedPeerKeysNeverVerify) {
  const auto id = PeerIdentity::load_or_create(key_file());
  const Signature sig = id.sign("m");
  const std::string key = id.peer_key();
  for (const std::string& bad : {std::string(), std::string("pk"), "PK" + key.substr(2), "xx" + key.substr(2), key.substr(2),
                                 key.substr(0, 44), key + "A", key + "=", key.substr(0, 44) + "+", key.substr(0, 44) + "/",
                                 key.substr(0, 44) + " ", std::string(key).insert(10, 1, '\0')}) {
    EXPECT_FALSE(PeerIdentity::verify(bad, "m", sig)) << "peer key '" << bad << "'";
  }
}

TEST_F(IdentityTest, TruncatedKeyFilesAreRefusedAndKept) {
  const std::string whole = (PeerIdentity::load_or_create(key_file()), read_file(key_file()));
  for (const size_t size : {size_t{0}, size_t{1}, size_t{32}, size_t{63}}) {
    write_file(key_file(), whole.substr(0, size));
    expect_error([&] { PeerIdentity::load_or_create(key_file()); }, ErrorCode::io, key_file().string() + " is truncated");
    EXPECT_EQ(read_file(key_file()), whole.substr(0, size)) << "a damaged key is never replaced silently";
  }
}

TEST_F(IdentityTest, CorruptKeyFilesAreRefusedAndKept) {
  const std::string whole = (PeerIdentity::load_or_create(key_file()), read_file(key_file()));
  std::vector<std::pair<std::string, std::string>> damaged;
  for (const size_t at : {size_t{0}, size_t{31}, size_t{32}, size_t{63}}) {
    std::string flipped = whole;
    flipped[at] = static_cast<char>(flipped[at] ^ 0x40);
    damaged.emplace_back("byte " + std::to_string(at) + " changed", flipped);
  }
  damaged.emplace_back("a byte appended", whole + "x");
  damaged.emplace_back("two keys", whole + whole);
  damaged.emplace_back("all zeros", std::string(64, '\0'));
  for (const auto& [what, bytes] : damaged) {
    SCOPED_TRACE(what);
    write_file(key_file(), bytes);
    expect_error([&] { PeerIdentity::load_or_create(key_file()); }, ErrorCode::io, key_file().string() + " is corrupt");
    EXPECT_EQ(read_file(key_file()), bytes);
  }
}

TEST_F(IdentityTest, ADittoWithADamagedKeyDoesNotOpen) {
  UserLogOutput::instance().set_console_enabled(false);
  DittoConfig config;
  config.persistence_dir = dir_.path() / "peer";
  Ditto::open(config)->close();
  const auto file = config.persistence_dir / "peer_identity.key";
  ASSERT_TRUE(std::filesystem::exists(file)) << "the identity lives in the persistence directory";
  write_file(file, read_file(file).substr(0, 40));
  expect_error([&] { Ditto::open(config); }, ErrorCode::io, "peer_identity.key is truncated");
}

TEST_F(IdentityTest, AKeyFileThatCannotBeWrittenIsAClearError) {
  const auto file = dir_.path() / "missing-directory" / "peer_identity.key";
  expect_error([&] { PeerIdentity::load_or_create(file); }, ErrorCode::io, "cannot create peer identity file");
}

}  // namespace
}  // namespace smallpeer
