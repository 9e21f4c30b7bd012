// The `smallpeer` command line: small peer inspection now; big-peer and fleet come with sync.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <iostream>

#include "common/error.h"
#include "common/json.h"
#include "ditto/ditto.h"

namespace {

using namespace smallpeer;

struct SpiOptions {
  std::string dir;
  std::string device_name;
  std::string metadata;
  std::string scope;
};

DittoConfig config_for(const SpiOptions& o) {
  DittoConfig config;
  config.persistence_dir = o.dir;
  if (!o.device_name.empty()) config.device_name = o.device_name;
  return config;
}

// Opens a small peer, enables Small Peer Info, collects once and prints the document.
int spi_collect(const SpiOptions& o) {
  UserLogOutput::instance().set_console_enabled(false);
  auto ditto = Ditto::open(config_for(o));
  auto& spi = ditto->small_peer_info();
  if (!o.metadata.empty()) spi.set_metadata_json(o.metadata);
  if (!o.scope.empty()) {
    const auto scope = parse_sync_scope(o.scope);
    if (!scope) throw Error(ErrorCode::invalid_argument, "unknown sync scope '" + o.scope + "'; expected LocalPeerOnly or BigPeerOnly");
    spi.set_sync_scope(*scope);
  }
  // Enabling writes the document at once; collect again only if it was already enabled.
  const bool was_enabled = spi.enabled();
  spi.set_enabled(true);
  const std::string doc = was_enabled ? spi.collect_now() : spi.current_document().value();
  std::cout << pretty_json(doc) << '\n';
  ditto->close();
  return 0;
}

// Prints the stored document without writing a new one.
int spi_show(const SpiOptions& o) {
  UserLogOutput::instance().set_console_enabled(false);
  auto ditto = Ditto::open(config_for(o));
  const auto doc = ditto->small_peer_info().current_document();
  if (!doc) {
    std::cerr << "smallpeer: no small peer info document in " << o.dir << " yet (run `smallpeer spi collect --dir " << o.dir << "`)\n";
    return 1;
  }
  std::cout << pretty_json(*doc) << '\n';
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"smallpeer: Small Peer Info engine tools"};
  app.require_subcommand(1);
  auto* spi = app.add_subcommand("spi", "Inspect and collect Small Peer Info of a small peer");
  spi->require_subcommand(1);

  SpiOptions collect_opts;
  auto* collect = spi->add_subcommand("collect", "Open a small peer, enable Small Peer Info, collect once and print the document");
  collect->add_option("--dir", collect_opts.dir, "Persistence directory of the small peer")->required();
  collect->add_option("--device-name", collect_opts.device_name, "Device name to report (default: the host name)");
  collect->add_option("--metadata", collect_opts.metadata, "App metadata as a JSON object");
  collect->add_option("--scope", collect_opts.scope, "Sync scope: LocalPeerOnly or BigPeerOnly");

  SpiOptions show_opts;
  auto* show = spi->add_subcommand("show", "Print the small peer's last Small Peer Info document");
  show->add_option("--dir", show_opts.dir, "Persistence directory of the small peer")->required();

  CLI11_PARSE(app, argc, argv);
  try {
    if (*collect) return spi_collect(collect_opts);
    if (*show) return spi_show(show_opts);
  } catch (const smallpeer::Error& e) {
    std::cerr << "smallpeer: " << e.what() << '\n';
    return 2;
  }
  return 1;
}
