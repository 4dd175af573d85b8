// libFuzzer entry point for the zone-file loader: every input is an operator's master file
// (configs' [[zone]] file), loaded with load_zone_file as a node loads it at start, from a
// scratch directory that also holds files to $INCLUDE (inc/a.inc, inc/origin.inc, and the
// input itself as main.zone, so that it can include itself). The target aborts unless:
//
// - the loader either returns a zone or throws ZoneError naming a file and a line (never
//   another exception, a crash, a hang or a read outside the text);
// - a zone it returns is valid (validate_zone) and its checkpoint (write_master_file) reads
//   back (read_master_file) to the same records and writes the same text again: a zone file
//   that loads must make a checkpoint that a restart loads;
// - loading is a function of the text: a second load gives the same zone.
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "dns/master_file.hpp"
#include "dns/zone.hpp"

namespace {

using namespace vrdns::dns;

[[noreturn]] void fail(const char* what) {
  std::fprintf(stderr, "fuzz_zone: %s\n", what);
  std::abort();
}

void check(bool ok, const char* what) {
  if (!ok) fail(what);
}

void write_file(const std::filesystem::path& p, const uint8_t* data, std::size_t size) {
  std::ofstream f(p, std::ios::binary | std::ios::trunc);
  f.write(reinterpret_cast<const char*>(data), std::streamsize(size));
  check(bool(f), "cannot write the scratch file");
}

// The scratch directory, made once per process (its name holds the pid: parallel jobs).
const std::filesystem::path& scratch() {
  static const std::filesystem::path dir = [] {
    namespace fs = std::filesystem;
    const fs::path d = fs::temp_directory_path() / ("vrdns-fuzz-zone-" + std::to_string(getpid()));
    fs::remove_all(d);
    fs::create_directories(d / "inc");
    const std::string a = "host A 192.0.2.1\n  TXT \"in a.inc\"\n$TTL 60\nshort AAAA 2001:db8::1\n";
    const std::string origin =
        "$ORIGIN sub.example.test.\nwww CNAME host\n$INCLUDE a.inc\n";
    write_file(d / "inc" / "a.inc", reinterpret_cast<const uint8_t*>(a.data()), a.size());
    write_file(d / "inc" / "origin.inc", reinterpret_cast<const uint8_t*>(origin.data()),
               origin.size());
    std::atexit([] {
      std::error_code ec;
      std::filesystem::remove_all(scratch(), ec);
    });
    return d;
  }();
  return dir;
}

// The zone, or null with the error checked.
ZonePtr load(const std::string& path) {
  try {
    return load_zone_file(path, "example.test.");
  } catch (const ZoneError& e) {
    check(!e.file.empty(), "a ZoneError names no file");
    check(e.line >= 0, "a ZoneError with a negative line");
    check(e.what()[0] != '\0', "a ZoneError says nothing");
    return nullptr;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 16384) return 0;   // longer files add nothing but time
  const std::string path = (scratch() / "main.zone").string();
  write_file(path, data, size);
  const ZonePtr zone = load(path);
  if (!zone) return 0;
  try {
    validate_zone(*zone, "fuzz");
  } catch (const ZoneError&) {
    fail("the loader returned a zone that is not valid");
  }
  const ZonePtr again = load(path);
  check(again && again->records() == zone->records(), "a second load gives another zone");

  const std::string text = write_master_file(*zone);
  ZonePtr reread;
  try {
    reread = read_master_file(text, "fuzz checkpoint");
  } catch (const ZoneError& e) {
    std::fprintf(stderr, "fuzz_zone: %s\n", e.what());
    fail("the checkpoint of a loaded zone does not load");
  }
  check(reread->records() == zone->records(), "the checkpoint reads back other records");
  check(write_master_file(*reread) == text, "the checkpoint does not write back the same");
  return 0;
}
