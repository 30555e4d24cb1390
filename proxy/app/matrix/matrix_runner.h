#pragma once

// MatrixRunner: every cell of drivers x configurations x scenarios against a lab, and what it
// saw, as report cells (schemas/report-v1.schema.json).
//
// Theory of operation. The lab has one listener per scenario and protocol. A cell holds its
// listener for as long as it runs, so the sessions the lab records on that listener in that time
// are the cell's and nobody else's: cells run in parallel (up to `jobs`) only on different
// listeners, and a cell starts only once the listener has no live session left. Before a cell
// the runner notes the newest record of the listener; after the driver exits it waits (bounded)
// until the listener has no live session and takes every record newer than that.
//
// Each driver's sanity cell (scenario `valid` in its sanity configuration) runs first; a driver
// that cannot log in there is not run further, and the runner says why in words a user can act
// on (most often: the driver does not trust the lab CA).

#include <chrono>
#include <expected>
#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include <proxy/app/matrix/driver_registry.h>
#include <proxy/app/matrix/lab_client.h>

namespace proxy::app::matrix {

struct MatrixDriver {
    DriverSpec spec;
    std::vector<DriverConfig> configs; // the ones to run, in order
    std::string sanity_config;
};

struct MatrixPlan {
    std::vector<MatrixDriver> drivers;
    std::vector<std::string> scenarios; // empty: every scenario the lab serves
    unsigned jobs = 2;
    std::chrono::seconds cell_timeout{60};
    std::string host = "localhost"; // the name drivers dial ({host})
    std::string ip = "127.0.0.1";   // for scenarios dialled by address
    std::filesystem::path ca;       // {ca}
    std::filesystem::path probes;   // {probes}
};

struct CellEvent {
    std::size_t done = 0;
    std::size_t total = 0;
    const nlohmann::json* cell = nullptr; // null while a sanity cell runs
    std::string sanity_note;              // a sanity check that failed, in words
};

struct MatrixResult {
    nlohmann::json cells = nlohmann::json::array();
    nlohmann::json catalogue = nlohmann::json::array(); // the run's scenarios, catalogue order
    nlohmann::json sanity = nlohmann::json::object();   // driver -> {passed, config, detail}
    std::map<std::string, std::string> versions;        // driver -> version its probe reported
    bool sanity_failed = false;
    bool interrupted = false;
};

class MatrixRunner {
  public:
    MatrixRunner(LabClient& lab, MatrixPlan plan, std::function<void(const CellEvent&)> progress,
                 std::function<bool()> should_stop);
    std::expected<MatrixResult, std::string> run();

  private:
    LabClient& lab_;
    MatrixPlan plan_;
    std::function<void(const CellEvent&)> progress_;
    std::function<bool()> should_stop_;
};

// sanity_advice: why a driver's sanity cell failed, in words a user can act on.
std::string sanity_advice(const nlohmann::json& cell, const DriverSpec& driver,
                          const std::string& probes);

} // namespace proxy::app::matrix
