// smallpeer_test_lan_peer: one real small peer in its own process, listening on a LAN port of
// 127.0.0.1, for tests that attack the listener and read the process's memory and CPU time.
//   smallpeer_test_lan_peer DIR APP_ID APP_TOKEN [TRANSPORT_LAN_EXTRA_JSON]
// Prints "lan-peer: port N", "lan-peer: peer key K" and "lan-peer: ready", then runs until SIGTERM.
#include <signal.h>

#include <iostream>
#include <string>

#include "common/error.h"
#include "ditto/ditto.h"

int main(int argc, char** argv) {
  using namespace smallpeer;
  if (argc < 4 || argc > 5) {
    std::cerr << "usage: smallpeer_test_lan_peer DIR APP_ID APP_TOKEN [EXTRA_LAN_JSON_FIELDS]\n";
    return 2;
  }
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGTERM);
  sigaddset(&stop, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);  // before any thread starts: only sigwait sees them
  try {
    UserLogOutput::instance().set_console_enabled(false);
    DittoConfig config;
    config.persistence_dir = argv[1];
    config.device_name = "lan-peer";
    config.identity = {IdentityConfig::Kind::online_playground, argv[2], argv[3]};
    auto ditto = Ditto::open(config);
    const std::string extra = argc == 5 ? std::string(",") + argv[4] : std::string();
    ditto->set_transport_config(R"({"lan":{"listen":"127.0.0.1:0")" + extra + "}}");
    ditto->start_sync();
    std::cout << "lan-peer: port " << ditto->lan_port() << std::endl;
    std::cout << "lan-peer: peer key " << ditto->peer_key() << std::endl;
    std::cout << "lan-peer: ready" << std::endl;
    int signal_number = 0;
    sigwait(&stop, &signal_number);
    ditto->close();
  } catch (const Error& e) {
    std::cerr << "lan-peer: " << e.what() << '\n';
    return 1;
  }
  return 0;
}
