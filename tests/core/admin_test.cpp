// core/admin: admin grants are signed over every field and bound to one app and one signing key;
// a small peer counts as an admin device only with a grant for its own key that verifies, has not
// expired and is not revoked, and keeps what its Big Peer said across a restart.
#include <gtest/gtest.h>

#include "admin/admin_grant.h"
#include "admin/admin_trust.h"
#include "clock/hlc.h"
#include "store/store.h"
#include "support/temp_dir.h"

namespace smallpeer::admin {
namespace {

using namespace std::chrono_literals;

constexpr std::string_view kApp = "smallpeer-demo";
const std::string kDevice = "pk" + std::string(43, 'D');
const TimePoint kNow = TimePoint(std::chrono::seconds(1'800'000'000));

int64_t ms(TimePoint t) {
  return to_unix_millis(t);
}

TEST(AdminGrantTest, ASignatureCoversEveryFieldTheAppAndTheKey) {
  const auto key = SigningKey::generate();
  const auto grant = key.sign(kApp, new_grant_id(), kDevice, ms(kNow + 1h));
  EXPECT_TRUE(grant.verifies(kApp, key.public_key()));
  EXPECT_FALSE(grant.verifies("another-app", key.public_key()));
  EXPECT_FALSE(grant.verifies(kApp, SigningKey::generate().public_key())) << "forged: another key";
  auto changed = grant;
  changed.expires_at_ms += 1;
  EXPECT_FALSE(changed.verifies(kApp, key.public_key())) << "a later expiry";
  changed = grant;
  changed.peer_key = "pk" + std::string(43, 'E');
  EXPECT_FALSE(changed.verifies(kApp, key.public_key())) << "another device";
  changed = grant;
  changed.grant_id = "ag_other";
  EXPECT_FALSE(changed.verifies(kApp, key.public_key())) << "another id";
  changed = grant;
  changed.signature[7] ^= 1;
  EXPECT_FALSE(changed.verifies(kApp, key.public_key())) << "one bit of the signature";
}

TEST(AdminGrantTest, TextFormsRoundTripAndRefuseDamage) {
  const auto key = SigningKey::generate();
  const auto grant = key.sign(kApp, new_grant_id(), kDevice, ms(kNow));
  const auto back = AdminGrant::from_text(grant.to_text());
  ASSERT_TRUE(back);
  EXPECT_EQ(back->to_text(), grant.to_text());
  EXPECT_TRUE(back->verifies(kApp, key.public_key()));
  for (const std::string& bad : {std::string(), std::string("ag_x\tpk\t1"), grant.to_text() + "\textra",
                                 std::string("bad id\tpk\t1\t") + std::string(86, 'A'), std::string("ag_x\tpk\tsoon\tAAAA")}) {
    EXPECT_FALSE(AdminGrant::from_text(bad)) << bad;
  }
  const auto reloaded = SigningKey::from_secret_text(key.to_secret_text());
  ASSERT_TRUE(reloaded);
  EXPECT_EQ(reloaded->public_key(), key.public_key());
  auto damaged = key.to_secret_text();
  damaged[damaged.size() - 2] = damaged[damaged.size() - 2] == 'A' ? 'B' : 'A';  // the public half no longer matches
  EXPECT_FALSE(SigningKey::from_secret_text(damaged));
  EXPECT_FALSE(SigningKey::from_secret_text("short"));
  EXPECT_EQ(parse_signing_key(signing_key_text(key.public_key())), key.public_key());
  EXPECT_FALSE(parse_signing_key("pk" + signing_key_text(key.public_key()).substr(3)));
  EXPECT_TRUE(is_valid_grant_id(new_grant_id()));
  EXPECT_NE(new_grant_id(), new_grant_id());
}

class AdminTrustTest : public ::testing::Test {
 protected:
  std::unique_ptr<Store> open_store() {
    return Store::open(dir_.path() / "store.sqlite3", std::make_shared<HybridLogicalClock>(std::make_shared<SystemClock>()),
                       kDevice);
  }
  test_support::TempDir dir_{"admin-trust"};
  SigningKey key_ = SigningKey::generate();
};

TEST_F(AdminTrustTest, OnlyAValidUnexpiredUnrevokedGrantForThisDeviceMakesAnAdminDevice) {
  auto store = open_store();
  AdminTrust trust(*store, std::string(kApp), kDevice);
  EXPECT_FALSE(trust.is_admin(kNow)) << "nothing learned yet";
  const auto grant = key_.sign(kApp, "ag_one", kDevice, ms(kNow + 1h));

  EXPECT_TRUE(trust.update(key_.public_key(), grant, {}, kNow)) << "became an admin device";
  EXPECT_TRUE(trust.is_admin(kNow));
  EXPECT_FALSE(trust.is_admin(kNow + 1h)) << "expired";
  EXPECT_FALSE(trust.update(key_.public_key(), grant, {}, kNow)) << "the same state changes nothing";

  EXPECT_TRUE(trust.update(key_.public_key(), grant, {"ag_one"}, kNow)) << "revoked";
  EXPECT_FALSE(trust.is_admin(kNow));
  trust.update(key_.public_key(), key_.sign(kApp, "ag_two", "pk" + std::string(43, 'E'), ms(kNow + 1h)), {}, kNow);
  EXPECT_FALSE(trust.is_admin(kNow)) << "a grant for another device";
  trust.update(key_.public_key(), SigningKey::generate().sign(kApp, "ag_three", kDevice, ms(kNow + 1h)), {}, kNow);
  EXPECT_FALSE(trust.is_admin(kNow)) << "forged: signed by another key";
  trust.update(key_.public_key(), key_.sign("another-app", "ag_four", kDevice, ms(kNow + 1h)), {}, kNow);
  EXPECT_FALSE(trust.is_admin(kNow)) << "a grant of another app";
  trust.update(key_.public_key(), std::nullopt, {}, kNow);
  EXPECT_FALSE(trust.is_admin(kNow)) << "no grant";
}

TEST_F(AdminTrustTest, AFieldPeerAcceptsOnlyAValidUnexpiredUnrevokedGrantOfTheKeyThatPresentsIt) {
  auto store = open_store();
  AdminTrust trust(*store, std::string(kApp), "pk" + std::string(43, 'F'));
  const std::string admin_key = "pk" + std::string(43, 'A');
  const auto grant = key_.sign(kApp, "ag_admin", admin_key, ms(kNow + 1h));
  EXPECT_FALSE(trust.accepts(grant, admin_key, kNow)) << "no signing key learned yet";
  trust.update(key_.public_key(), std::nullopt, {"ag_old"}, kNow);
  EXPECT_TRUE(trust.accepts(grant, admin_key, kNow));
  EXPECT_FALSE(trust.accepts(grant, "pk" + std::string(43, 'B'), kNow)) << "presented by another peer";
  EXPECT_FALSE(trust.accepts(grant, admin_key, kNow + 1h)) << "expired";
  EXPECT_FALSE(trust.accepts(SigningKey::generate().sign(kApp, "ag_admin", admin_key, ms(kNow + 1h)), admin_key, kNow))
      << "forged: signed by another key";
  trust.update(key_.public_key(), std::nullopt, {"ag_admin"}, kNow);
  EXPECT_FALSE(trust.accepts(grant, admin_key, kNow)) << "revoked";
}

TEST_F(AdminTrustTest, WhatTheBigPeerSaidOutlivesARestart) {
  const auto grant = key_.sign(kApp, "ag_one", kDevice, ms(kNow + 1h));
  {
    auto store = open_store();
    AdminTrust(*store, std::string(kApp), kDevice).update(key_.public_key(), grant, {"ag_old"}, kNow);
  }
  auto store = open_store();
  AdminTrust trust(*store, std::string(kApp), kDevice);
  EXPECT_TRUE(trust.is_admin(kNow));
  EXPECT_EQ(trust.signing_key(), key_.public_key());
  EXPECT_FALSE(AdminTrust(*store, "another-app", kDevice).is_admin(kNow));
  EXPECT_FALSE(AdminTrust(*store, std::string(kApp), "pk" + std::string(43, 'E')).is_admin(kNow));
}

// The signing key from the app's configuration: checked against before any Big Peer session, kept
// over a Big Peer's other key and over a restart, and forgotten (with the learned key) on request.
TEST_F(AdminTrustTest, AConfiguredSigningKeyIsPinnedPersistedAndForgotten) {
  const std::string admin_key = "pk" + std::string(43, 'A');
  const auto grant = key_.sign(kApp, "ag_admin", admin_key, ms(kNow + 1h));
  const auto other = SigningKey::generate();
  {
    auto store = open_store();
    AdminTrust trust(*store, std::string(kApp), kDevice);
    EXPECT_FALSE(trust.configure_signing_key(key_.public_key(), kNow)) << "not an admin device either way";
    EXPECT_TRUE(trust.signing_key_configured());
    EXPECT_TRUE(trust.accepts(grant, admin_key, kNow)) << "never met the Big Peer, and checks a grant";
    trust.update(other.public_key(), std::nullopt, {}, kNow);
    EXPECT_EQ(trust.signing_key(), key_.public_key()) << "a Big Peer's other key does not replace the configured one";
    EXPECT_FALSE(trust.accepts(other.sign(kApp, "ag_other", admin_key, ms(kNow + 1h)), admin_key, kNow));
  }
  auto store = open_store();
  AdminTrust trust(*store, std::string(kApp), kDevice);
  EXPECT_TRUE(trust.signing_key_configured()) << "kept over a restart";
  EXPECT_TRUE(trust.accepts(grant, admin_key, kNow));

  // This device's own grant, checked with the configured key: configuring another key ends it.
  trust.update(key_.public_key(), key_.sign(kApp, "ag_mine", kDevice, ms(kNow + 1h)), {}, kNow);
  EXPECT_TRUE(trust.is_admin(kNow));
  EXPECT_TRUE(trust.configure_signing_key(other.public_key(), kNow)) << "its grant no longer checks out";
  EXPECT_FALSE(trust.is_admin(kNow));

  EXPECT_FALSE(trust.configure_signing_key(std::nullopt, kNow));
  EXPECT_FALSE(trust.signing_key_configured());
  EXPECT_FALSE(trust.signing_key()) << "the learned key is forgotten too";
  EXPECT_FALSE(trust.accepts(grant, admin_key, kNow));
  trust.update(key_.public_key(), std::nullopt, {}, kNow);
  EXPECT_EQ(trust.signing_key(), key_.public_key()) << "the next Big Peer session teaches it again";
  EXPECT_FALSE(AdminTrust(*store, std::string(kApp), kDevice).signing_key_configured());
}

}  // namespace
}  // namespace smallpeer::admin
