#include "app/replica_node.hpp"

#include <caf/all.hpp>
#include <caf/io/all.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <optional>
#include <random>
#include <stdexcept>
#include <system_error>
#include <utility>
#include <vector>

#include "actors/dns_frontend.hpp"
#include "actors/fail_stop.hpp"
#include "actors/log_line.hpp"
#include "actors/peer_connector.hpp"
#include "actors/peer_messages.hpp"
#include "actors/replica.hpp"
#include "actors/vr_client.hpp"
#include "actors/vr_submit_queue.hpp"
#include "app/commit_waiters.hpp"
#include "app/config_reload.hpp"
#include "app/keyring.hpp"
#include "app/metrics_text.hpp"
#include "app/node_stats.hpp"
#include "app/node.hpp"
#include "app/observed_service.hpp"
#include "app/serving_publisher.hpp"
#include "app/signed_queries.hpp"
#include "app/transfer_path.hpp"
#include "app/update_path.hpp"
#include "app/zone_adder.hpp"
#include "dns/name.hpp"
#include "net/query_stats.hpp"
#include "dns/tsig.hpp"
#include "dns/zone.hpp"
#include "net/notifier.hpp"
#include "net/zone_slots.hpp"
#include "storage/posix_file.hpp"
#include "storage/replica_store.hpp"
#include "storage/view_state.hpp"

namespace vrdns::app {

using ZoneSlotList = std::shared_ptr<const std::vector<uint16_t>>;

namespace {

// vr_client actors per node: each has one Request in flight at a time (VR §4.1), and takes the
// UPDATEs that queued meanwhile in the node's vr_submit_queue as one op batch of up to
// vr_batch_max. Fewer clients make bigger batches: under dnsperf -q 50 the three servers spent
// 262 us of CPU per UPDATE with 64 clients and no batching, 220 with 4 clients, 170 with 2, 157
// with 1. Two keep one batch forming while the other commits (6 measured no better, session 9).
constexpr std::size_t vr_clients_per_node = 2;
constexpr std::size_t vr_batch_max = 64;
constexpr const char* marker_name = "vrdns.started";

uint64_t random64() {
  std::random_device rd;
  return uint64_t(rd()) << 32 ^ uint64_t(rd());
}

/// Creates data_dir if needed; true if an earlier run left its marker there.
bool prepare_data_dir(const std::string& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw std::runtime_error("cannot create data_dir " + dir + ": " + ec.message());
  return fs::exists(fs::path(dir) / marker_name, ec);
}

/// The marker says "this replica had state here": from then on an empty data_dir is a lost
/// one, and recovers without asking whether the cluster is new. So it is left only once the
/// replica has state: a node stopped while it was still blank (say, to fix its zone files
/// before the cluster started) is blank again at its restart, and can still start the cluster.
bool leave_marker(const std::string& dir) {
  std::ofstream out(std::filesystem::path(dir) / marker_name);
  out << "vrdns ran here; a restart recovers its VR state from the other replicas\n";
  out.flush();
  return bool(out);
}

}  // namespace

std::string status_line(const protocol::replica_state& vr) {
  const char* status = "normal";
  if (vr.status == protocol::replica_status::view_change) status = "view-change";
  if (vr.status == protocol::replica_status::recovering) status = "recovering";
  return "replica=" + std::to_string(vr.replica_number) + " view=" +
         std::to_string(vr.view_number) + " status=" + status + " primary=" +
         std::to_string(vr.primary_of(vr.view_number)) + " op=" + std::to_string(vr.op_number) +
         " commit=" + std::to_string(vr.commit_number);
}

namespace {

// [rrl] as the UDP front end takes it (net/rate_limiter.hpp).
net::RateLimitOptions rate_limit_options(const config::RateLimitConfig& rrl) {
  net::RateLimitOptions o;
  o.responses_per_second = rrl.responses_per_second;
  o.slip = rrl.slip;
  o.ipv4_prefix = rrl.ipv4_prefix;
  o.ipv6_prefix = rrl.ipv6_prefix;
  o.exempt = rrl.exempt;
  return o;
}

// Where and how this node sends NOTIFYs: [transfer] notify, signed with notify_key if set.
net::NotifyOptions notify_options(const config::NodeConfig& cfg, std::size_t me,
                                  std::shared_ptr<net::NotifyCounters> counters) {
  net::NotifyOptions o;
  o.counters = std::move(counters);
  o.targets = cfg.transfer.notify;
  if (!cfg.transfer.notify_key.empty()) {
    // The notify key alone: an answer signed with any other configured key (an UPDATE
    // client's, say) is not the secondary's answer (RFC 8945 §5.4.1).
    auto keys = std::make_shared<const dns::Keyring>(keyring_of(cfg, {cfg.transfer.notify_key}));
    const std::string key = dns::name_key(*dns::name_from_text(cfg.transfer.notify_key));
    o.sign = [keys, key](std::vector<uint8_t>& m) {
      dns::sign_request(m, key, *keys, int64_t(std::time(nullptr)));
    };
    o.verify = [keys](const uint8_t* reply, std::size_t length, const std::vector<uint8_t>& request,
                      std::string& why) {
      const auto v =
          dns::verify_reply_to(request, reply, length, *keys, int64_t(std::time(nullptr)));
      if (!v) {
        why = "the request was not signed";   // sign_request failed: the key is gone
        return false;
      }
      if (v->status == dns::TsigStatus::ok) return true;
      why = std::string("TSIG ") + dns::to_string(v->status) +
            (v->status == dns::TsigStatus::not_signed || v->status == dns::TsigStatus::badkey
                 ? " (does the secondary have the key?)"
                 : "");
      return false;
    };
  }
  o.log = [me](const std::string& line) {
    actors::log_line("replica " + std::to_string(me) + ": " + line);
  };
  return o;
}

}  // namespace

struct ReplicaNode::NotifierSlot {
  std::atomic<std::shared_ptr<net::Notifier>> notifier;
  // What the front end serves since the last publication: a NOTIFY sender put in place by a
  // reload starts from it, and does not wait for the next change (an idle cluster has none).
  std::atomic<dns::ServingStatePtr> served;
};

ReplicaNode::ReplicaNode(caf::actor_system& system, const config::NodeConfig& cfg,
                         FailureHandler on_failure)
    : system_(&system) {
  const std::size_t n = cfg.replicas.size();
  const auto me = cfg.replica;
  running_ = without_loaded_zones(cfg);
  policy_ = std::make_shared<CurrentAccessPolicy>(access_policy_of(cfg));
  notifier_ = std::make_shared<NotifierSlot>();
  notify_counters_ = std::make_shared<net::NotifyCounters>();
  const bool ran_here_before = prepare_data_dir(cfg.data_dir);

  // Durable state (issue #5): the WAL and the view record in data_dir.
  auto dir = storage::posix_directory::open_path(cfg.data_dir, true);
  if (!dir.error.ok())
    throw std::runtime_error("cannot open data_dir " + cfg.data_dir + ": " + dir.error.message);
  std::vector<std::string> addresses;
  for (const auto& r : cfg.replicas) addresses.push_back(r.to_string());
  std::optional<protocol::restored_state> restored;
  storage::replica_store_report report;
  auto store = storage::replica_store::open(*dir.value, uint32_t(me),
                                            storage::cluster_identity(addresses), restored, report);
  if (!store.error.ok())
    throw std::runtime_error("data_dir " + cfg.data_dir + ": " + store.error.message);
  if (report.torn_bytes)
    actors::log_line("replica " + std::to_string(me) + ": cut " +
                     std::to_string(report.torn_bytes) + " bytes of a log record torn by a crash");
  for (const auto& bad : report.corrupt_checkpoints)
    actors::log_line("replica " + std::to_string(me) + ": checkpoint at op " +
                     std::to_string(bad.op_number) + " corrupt (" + bad.file + ": " + bad.reason +
                     "): passed over");
  if (report.log_gap)
    actors::log_line("replica " + std::to_string(me) + ": log starts after op " +
                     std::to_string(report.log_gap->first) + " but the checkpoint ends at op " +
                     std::to_string(report.log_gap->second) +
                     ": recovering the missing ops from the other replicas");
  if (report.corruption)
    actors::log_line("replica " + std::to_string(me) + ": log corrupt at op " +
                     std::to_string(report.corruption->op_number) + " (" +
                     report.corruption->reason + "): recovering it from the other replicas");
  // Three ways to start: from our own disk (the normal restart); recovering (VR §4.3) when the
  // disk says we had not finished recovering or lost log entries, or when an earlier run left
  // its marker but no state (the disk was wiped); or blank (nothing at all here): then the
  // replica asks the others whether the whole cluster is new, and recovers if it is not.
  const bool from_disk = restored && restored->view.status != protocol::replica_status::recovering;
  recovering_ = n > 1 && !from_disk && (restored.has_value() || ran_here_before);
  const uint64_t commit_hint = from_disk ? restored->view.commit_number : 0;
  if (from_disk)
    actors::log_line("replica " + std::to_string(me) + ": restarting from " + cfg.data_dir +
                     ": view " + std::to_string(restored->view.view_number) + ", log ops " +
                     std::to_string(restored->log_start + 1) + ".." +
                     std::to_string(restored->log_start + restored->log.size()) +
                     (restored->latest_checkpoint
                          ? ", checkpoint at op " +
                                std::to_string(restored->latest_checkpoint->op_number)
                          : std::string(", no checkpoint")));
  // The zone files only seed a brand-new cluster. Restarting from a checkpoint they are not
  // needed (parsing a big one takes seconds): the configured apexes stand in, as empty zones,
  // until the replica has restored the checkpoint (answers meanwhile: SERVFAIL).
  const bool from_checkpoint = restored && restored->latest_checkpoint;
  auto seed = std::make_shared<dns::ZoneSet>();
  for (const auto& z : cfg.zones) {
    if (from_checkpoint) {
      seed->zones.push_back(dns::ZoneEditor(*dns::name_from_text(z.name)).finish());
    } else {
      seed->zones.push_back(config::load_zone(cfg, z));
    }
  }
  try {
    // No replica is reachable yet, our own included (the clients are spawned before it): the
    // peer connectors, and below the replica's spawn, fill in the handles (peer_messages.hpp).
    const std::vector<caf::actor> nobody(n);

    // Client ids must be unique across nodes and incarnations (VR's client_table keys on them):
    // a random base makes a collision practically impossible.
    const uint64_t client_base = random64();
    const auto submissions = std::make_shared<actors::vr_submit_queue>();
    const auto update_timeout = std::chrono::milliseconds(cfg.replication.update_timeout_ms);
    std::vector<caf::actor> clients;
    for (std::size_t i = 0; i < vr_clients_per_node; ++i) {
      actors::vr_client_options o;
      o.client_id = client_base + i;
      o.call_timeout = update_timeout;
      o.submissions = submissions;
      o.batch_max = vr_batch_max;   // dns::ZoneService executes op batches
      // After a failover the new primary hears the outstanding batch at most this long after
      // its StartView. Resending to every replica is cheap with two clients per node, and this
      // is part of every UPDATE's failover time (bench/failover.sh median: 307 ms with the
      // default 50 ms, 276 ms with 20).
      o.resend = std::chrono::milliseconds(20);
      clients.push_back(system.spawn(actors::vr_client, nobody, o));
    }
    actors_.insert(actors_.end(), clients.begin(), clients.end());

    auto initial = std::make_shared<dns::ServingState>(*initial_serving_state(cfg, seed));
    // A restarted replica answers SERVFAIL for its zones until it has recovered (VR §4.3):
    // the zone files are older than what the cluster committed.
    // A blank one (n > 1) does not know yet whether the zone files are the cluster's state.
    const bool blank = n > 1 && !restored && !ran_here_before;
    initial->has_state = !recovering_ && !from_disk && !blank && !from_checkpoint;
    if (recovering_ || blank) {
      protocol::replica_state not_yet(n, protocol::replica_id(me));
      not_yet.status = protocol::replica_status::recovering;
      initial->status = status_line(not_yet);
    }
    auto service = std::make_shared<ObservedService>(*initial->zones);
    auto waiters = std::make_shared<CommitWaiters>();
    // Statistics (GET /metrics): the front end's workers, the UPDATE path and the replica
    // each write their own numbers; the endpoint only reads them.
    auto front_stats = std::make_shared<net::FrontEndStats>();
    auto zone_slots = std::make_shared<net::ZoneSlots>();
    auto update_counters = std::make_shared<UpdateCounters>();
    auto gauges = std::make_shared<ReplicaGauges>(uint32_t(me));
    net::ServerOptions options;
    options.stats = front_stats;
    options.listen = cfg.dns.listen;
    options.udp_workers = cfg.dns.udp_workers;
    options.tcp_workers = cfg.dns.tcp_workers;
    options.tcp.idle_timeout = std::chrono::milliseconds(cfg.dns.tcp_idle_timeout_ms);
    options.tcp.max_connections = cfg.dns.tcp_max_connections;
    options.rate_limit = rate_limit_options(cfg.rrl);
    auto transfer_counters = std::make_shared<TransferCounters>();
    options.tcp.transfer_handler =
        make_transfer_handler(policy_, "replica " + std::to_string(me) + ": ", transfer_counters);
    options.signed_query_handler = make_signed_query_handler(policy_);
    auto served_zones = std::make_shared<ServedZones>(*service->zones());
    served_zones_ = served_zones;
    auto handler = make_update_handler(policy_, served_zones, submissions, update_timeout, waiters,
                                       update_counters);
    auto frontend = actors::spawn_dns_frontend(system, options, initial, std::move(handler));
    actors_.push_back(frontend.actor);
    dns_endpoints_ = frontend.endpoints;
    set_rate_limiter_ = frontend.set_rate_limiter;

    actors::replica_options ro;
    ro.heartbeat = std::chrono::milliseconds(cfg.replication.heartbeat_ms);
    ro.primary_timeout = std::chrono::milliseconds(cfg.replication.primary_timeout_ms);
    ro.seed = random64();
    ro.checkpoint_interval = cfg.replication.checkpoint_interval;
    ro.log_margin = cfg.replication.log_margin;
    ro.start_recovering = recovering_;
    // A backup's save is on the path of every commit (Prepare, save, PrepareOk): saving inside
    // the handler spares it two thread hand-offs per save (to the saver and back). Measured one
    // UPDATE at a time: median 1.10 vs 1.31 ms via the primary (5 A/B pairs, each better or
    // equal); throughput under dnsperf -q 50 unchanged within noise (session 9).
    ro.backup_saves_inline = true;
    ro.blank = blank;
    ro.on_notice = [me](const std::string& note) {
      actors::log_line("replica " + std::to_string(me) + ": " + note);
    };
    store.value->keep_alive(std::shared_ptr<storage::directory>(std::move(dir.value)));
    ro.persistence = std::move(store.value);
    // Recovering, it still takes its own checkpoint (committed state) and recovers the rest.
    if (from_disk || recovering_) ro.restored = std::move(restored);
    auto disk_error = std::make_shared<std::string>();   // replica thread only
    ro.on_disk_error = [me, disk_error](const std::string& e) {
      *disk_error = e;
      actors::log_line("replica " + std::to_string(me) + ": " +
                       (e.empty() ? std::string("disk writable again, acknowledging again")
                                  : "cannot write data_dir, not acknowledging: " + e));
    };
    // Runs on the replica's thread, right after the service executed ops: reading zones() is
    // safe there, and the ZoneSetPtr handed over is immutable.
    // NOTIFY (RFC 1996): the secondaries of [transfer] notify hear of each new serial once
    // this node's front end serves it (net/notifier.hpp).
    if (!cfg.transfer.notify.empty())
      notifier_->notifier.store(
          std::make_shared<net::Notifier>(notify_options(cfg, me, notify_counters_)));
    // `served` is stored before the notifier is loaded, and a reload stores the notifier before
    // it loads `served`: so a state published during a reload reaches the new notifier one way
    // or the other (Notifier::published ignores a serial it has queued already).
    PublishFn publish = [serve = frontend.publish, slot = notifier_](dns::ServingStatePtr state) {
      const dns::ServingStatePtr keep = state;
      serve(std::move(state));
      slot->served.store(keep);
      if (const std::shared_ptr<net::Notifier> notifier = slot->notifier.load())
        notifier->published(*keep);
    };
    auto publisher = system.spawn(serving_publisher, std::move(publish), waiters,
                                  dns::ServingStatePtr(initial));
    actors_.push_back(publisher);
    publisher_ = publisher;
    cookie_secrets_ = initial->options.cookies;
    ZoneAdderOptions zo;
    // Every replica reads an added zone's master file on its own thread: up to 8 MiB of it.
    zo.call_timeout = std::max(update_timeout, std::chrono::milliseconds(10000));
    zo.log = [me](const std::string& line) {
      actors::log_line("replica " + std::to_string(me) + ": " + line);
    };
    auto adder = system.spawn<caf::detached>(zone_adder, running_, submissions, zo);
    actors_.push_back(adder);
    adder_ = adder;
    auto has_state = std::make_shared<bool>(initial->has_state);   // replica thread only
    // The statistics slot of each served zone (net/zone_slots.hpp), worked out again only
    // when the zone list changes: every other publish keeps the same zones in the same order.
    auto slots_of_list =
        std::make_shared<std::pair<uint64_t, ZoneSlotList>>();   // replica thread only
    auto zone_list_seen = std::make_shared<uint64_t>(service->zone_list_version());
    // The zone list the adder last checked (replica thread only); none before the first check.
    auto zones_checked = std::make_shared<std::optional<uint64_t>>();
    auto marker_due = std::make_shared<bool>(true);                // replica thread only
    if (!blank) *marker_due = !leave_marker(cfg.data_dir);
    ro.on_change = [service, initial, publisher, has_state, from_disk, commit_hint, disk_error,
                    zone_slots, slots_of_list,
                    marker_due, data_dir = cfg.data_dir, me, served_zones, zone_list_seen,
                    adder, zones_checked, gauges](const protocol::replica_state& vr) {
      // Vouched for once normal (recovered), or after a restart from disk once it has executed
      // again what it knew to be committed; from then on, through any later view change.
      const bool normal = vr.status == protocol::replica_status::normal;
      if (normal && *marker_due) {
        *marker_due = false;
        if (!leave_marker(data_dir))
          actors::log_line("replica " + std::to_string(me) + ": cannot write " + data_dir + "/" +
                           marker_name);
      }
      const bool caught_up =
          !from_disk || (vr.commit_number > 0 && vr.execute_number >= commit_hint);
      // (Normal: a replica that restarted with a log but no checkpoint recovers with op 0, and
      // must not serve the zone files its service was seeded with meanwhile.)
      if ((normal && caught_up) || (from_disk && normal && vr.op_number == 0)) *has_state = true;
      if (service->zone_list_version() != *zone_list_seen) {
        *zone_list_seen = service->zone_list_version();
        served_zones->set(*service->zones());
      }
      // Once it serves state it vouches for, the configured zones the cluster lacks are
      // proposed (app/zone_adder.hpp), and checked again whenever the zone list changes (a
      // readmitted zone is proposed again, a removed one is not).
      if (*has_state && normal && *zones_checked != service->zone_list_version()) {
        *zones_checked = service->zone_list_version();
        std::vector<std::string> present;
        for (const auto& z : service->zones()->zones) present.push_back(z->apex_key());
        caf::anon_send(adder, zone_check_atom::value, std::move(present),
                       service->removed_zones());
      }
      gauges->record(vr, *has_state, !disk_error->empty());
      auto s = std::make_shared<dns::ServingState>(*initial);
      s->zones = service->zones();
      if (slots_of_list->first != service->zone_list_version() || !slots_of_list->second)
        *slots_of_list = {service->zone_list_version(), zone_slots->slots_for(*s->zones)};
      s->zone_slots = slots_of_list->second;
      s->status = status_line(vr);
      if (!disk_error->empty()) s->status += " disk=error";
      s->has_state = *has_state;
      caf::anon_send(publisher, publication_atom::value,
                     Publication{std::move(s), service->take_executed()});
    };
    auto replica = system.spawn(actors::replica, protocol::replica_id(me), nobody, service, ro);
    actors_.push_back(replica);
    std::vector<std::pair<caf::actor, std::string>> watched{
        {replica, "the replica actor"},
        {frontend.actor, "the DNS front end"},
        {publisher, "the serving publisher"},
        {adder, "the zone adder"}};
    for (const auto& c : clients) watched.emplace_back(c, "a vr_client");
    for (const auto& c : clients)
      caf::anon_send(c, actors::vr_peer_set_atom::value, std::uint32_t(me), replica);

    // The other nodes connect to our replica at our cluster.replicas address.
    const auto& self_ep = cfg.replicas[me];
    auto port = caf::io::publish(replica, self_ep.port, self_ep.host.c_str(), true);
    if (!port)
      throw std::runtime_error("cannot bind replica address " + self_ep.to_string() + ": " +
                               system.render(port.error()));

    for (std::size_t j = 0; j < n; ++j) {
      if (j == me) continue;
      actors::peer_connector_options pc;
      pc.host = cfg.replicas[j].host;
      pc.port = cfg.replicas[j].port;
      pc.targets = clients;
      pc.targets.push_back(replica);
      pc.replica = replica;
      pc.peer_id = std::uint32_t(j);
      pc.label = "replica " + std::to_string(me) + ": peer " + std::to_string(j);
      actors_.push_back(system.spawn(actors::peer_connector, pc));
      watched.emplace_back(actors_.back(), "the connector to peer " + std::to_string(j));
    }
    if (cfg.stats.listen) {
      MetricsSnapshot fixed;
      fixed.node_name = cfg.name;
      fixed.version = VRDNS_VERSION;
      fixed.start_time_seconds = std::chrono::duration<double>(
                                     std::chrono::system_clock::now().time_since_epoch())
                                     .count();
      metrics_ = std::make_unique<net::MetricsServer>(
          *cfg.stats.listen,
          [fixed, front_stats, update_counters, gauges, zone_slots, slot = notifier_,
           notify = notify_counters_, transfers = transfer_counters] {
            constexpr auto relaxed = std::memory_order_relaxed;
            MetricsSnapshot s = fixed;
            s.queries = front_stats->totals();
            s.tcp_connections = front_stats->tcp_connections.load(relaxed);
            s.updates = update_counters->read();
            s.replica = gauges->read();
            s.notify_sent = notify->sent.load(relaxed);
            s.notify_answered = notify->answered.load(relaxed);
            s.notify_ignored = notify->ignored.load(relaxed);
            s.notify_given_up = notify->given_up.load(relaxed);
            s.transfers_full = transfers->full.load(relaxed);
            s.transfers_incremental = transfers->incremental.load(relaxed);
            s.transfers_up_to_date = transfers->up_to_date.load(relaxed);
            s.transfers_refused = transfers->refused.load(relaxed);
            s.transfers_busy = transfers->busy.load(relaxed);
            // Zones only once served from committed state: before that they are placeholders.
            const dns::ServingStatePtr served = slot->served.load();
            if (served && served->has_state) {
              for (const auto& z : served->zones->zones) {
                ZoneReading reading{dns::name_to_text(z->apex()), z->serial(), z->record_count(),
                                    std::nullopt};
                const auto zone_slot = zone_slots->find(z->apex_key());
                if (zone_slot && *zone_slot != net::ZoneSlots::shared_slot)
                  reading.queries = s.queries.zone[*zone_slot];
                s.zones.push_back(std::move(reading));
              }
              s.other_zone_queries = s.queries.zone[net::ZoneSlots::shared_slot];
            }
            return render_metrics(s);
          });
      metrics_->start();
      actors::log_line("replica " + std::to_string(me) + ": statistics at http://" +
                       metrics_->endpoint().to_string() + "/metrics");
    }
    // Fail-stop (actors/fail_stop.hpp): an actor of the node that ends on its own, say from an
    // invariant check that threw, stops the node instead of leaving it half alive.
    if (on_failure) {
      for (auto& [actor, name] : watched)
        actors::watch_for_failure(system, actor, "replica " + std::to_string(me) + ": " + name,
                                  on_failure);
    }
    if (n > 1)
      actors::log_line("replica " + std::to_string(me) + ": waiting for peers" +
                       (recovering_ ? " (recovering: data_dir holds state of an earlier run)"
                        : blank     ? " (empty data_dir: a new cluster starts once every "
                                      "replica answers that it is new too; else it recovers)"
                                    : ""));
  } catch (...) {
    stop();
    throw;
  }
}

ReplicaNode::~ReplicaNode() { stop(); }

void ReplicaNode::reload(const config::NodeConfig& loaded_cfg) {
  const std::string label = "replica " + std::to_string(running_.replica) + ": ";
  config::NodeConfig loaded = without_loaded_zones(loaded_cfg);
  // Another replica's file, or another cluster's: its keys, secondaries and zones are not this
  // node's to apply, whatever a restart with it would then do.
  if (loaded.replica != running_.replica || loaded.replicas != running_.replicas) {
    actors::log_line(label + "reload of " + loaded.path + " refused: it describes " +
                     (loaded.replicas != running_.replicas ? "another [cluster] replicas"
                                                           : "another [node] replica") +
                     " than this process runs; the running configuration stays in force");
    return;
  }
  const ReloadPlan plan = plan_reload(running_, loaded);
  // Everything that can fail is built before anything changes: all or nothing.
  AccessPolicyPtr policy;
  std::shared_ptr<net::Notifier> notifier;
  std::optional<dns::ResponderOptions> responder;
  std::shared_ptr<net::ResponseRateLimiter> limiter;   // null: limiting off
  try {
    if (plan.responder_changed) {
      // [dns] edns_udp_size stays what the process started with (restart_only below). A node
      // without a configured secret keeps its random one; one whose configured secret was
      // removed draws a new random one (the removed one may be why it was removed).
      config::NodeConfig effective = loaded;
      effective.dns.edns_udp_size = running_.dns.edns_udp_size;
      responder = responder_options(
          effective, running_.cookies.secret ? nullptr : cookie_secrets_.get());
    }
    policy = access_policy_of(loaded);
    if (plan.rate_limit_changed) limiter = net::make_rate_limiter(rate_limit_options(loaded.rrl));
    if (plan.notify_changed && !loaded.transfer.notify.empty())
      notifier = std::make_shared<net::Notifier>(
          notify_options(loaded, running_.replica, notify_counters_));
  } catch (const std::exception& e) {   // a key OpenSSL refuses, no socket or thread left
    actors::log_line(label + "reload of " + loaded.path + " failed: " + e.what() +
                     "; the running configuration stays in force");
    return;
  }
  for (const auto& what : plan.restart_only)
    actors::log_line(label + what + " changed in " + loaded.path +
                     ": takes effect when the node restarts");
  for (const auto& zone : plan.zone_files_changed)
    actors::log_line(label + "zone " + zone + ": its file changed; a zone file only seeds a new "
                     "cluster or an added zone, so what is served stays the cluster's");
  if (plan.policy_changed) policy_->set(std::move(policy));
  if (plan.rate_limit_changed) set_rate_limiter_(std::move(limiter));
  bool responder_applied = !responder;
  if (responder) {
    cookie_secrets_ = responder->cookies;
    // Waits until the publisher serves them, so the log line below means "in force" (tests
    // and operators act on it). The publisher only swaps a pointer: this takes microseconds.
    caf::scoped_actor self{*system_};
    self->request(publisher_, std::chrono::seconds(5), responder_options_atom::value,
                  std::move(*responder))
      .receive([&](bool) { responder_applied = true; },
               [&](const caf::error& e) {
                 actors::log_line(label + "NSID and cookies not applied yet: " +
                                  system_->render(e));
               });
  }
  if (plan.notify_changed) {
    // The old sender's pending retries go with it; the new one notifies every zone served now.
    notifier_->notifier.store(notifier);
    if (const dns::ServingStatePtr served = notifier_->served.load(); notifier && served)
      notifier->published(*served);
  }
  std::vector<std::string> present;
  for (const auto& z : served_zones_->get()->zones) present.push_back(z->apex_key());
  caf::anon_send(
      adder_, zone_reload_atom::value,
      ZoneReload{std::make_shared<const config::NodeConfig>(loaded), std::move(present)});
  std::string listed;
  for (const auto& z : plan.zones_listed) listed += " " + z;
  actors::log_line(label + "configuration reloaded from " + loaded.path + ": keys and access " +
                   (plan.policy_changed ? "replaced" : "unchanged") + ", NOTIFY targets " +
                   (plan.notify_changed ? "replaced" : "unchanged") + ", NSID and cookies " +
                   (plan.responder_changed ? (responder_applied ? "replaced" : "being replaced")
                                           : "unchanged") +
                   ", rate limiting " +
                   (plan.rate_limit_changed ? "replaced" : "unchanged") + ", " +
                   (listed.empty() ? std::string("no zone newly listed")
                                   : "zones newly listed:" + listed));
  // Keep the [node], [dns] (but nsid), [stats] and [replication] this process runs
  // with: they are what the next reload must be compared with until a restart applies them.
  config::NodeConfig next = std::move(loaded);
  next.name = running_.name;
  next.data_dir = running_.data_dir;
  const std::string nsid = next.dns.nsid;
  next.dns = running_.dns;
  next.dns.nsid = nsid;
  next.stats = running_.stats;
  next.replication = running_.replication;
  running_ = std::move(next);
}

void ReplicaNode::stop() {
  if (metrics_) metrics_->stop();
  for (auto& a : actors_)
    if (a) caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
  actors_.clear();
}

}  // namespace vrdns::app
