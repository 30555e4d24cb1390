#include <proxy/app/matrix/in_process_lab.h>

namespace proxy::app::matrix {

std::expected<std::unique_ptr<InProcessLab>, std::string>
InProcessLab::start(const LabOptions& lab_options, const LabPlanOptions& plan,
                    const OutputOptions& output_options) {
    std::unique_ptr<InProcessLab> self(new InProcessLab());
    auto outputs = LabOutputs::open(output_options);
    if (!outputs) {
        return std::unexpected(outputs.error());
    }
    self->outputs_ = std::move(*outputs);
    auto lab = Lab::prepare(lab_options);
    if (!lab) {
        return std::unexpected(lab.error());
    }
    self->lab_ = std::move(*lab);
    auto upstream_tls = make_upstream_tls({self->lab_->ca().cert()});
    if (!upstream_tls) {
        return std::unexpected(upstream_tls.error());
    }
    self->upstream_tls_ = std::move(*upstream_tls);
    self->loop_ = std::make_unique<net::EventLoop>();
    self->registry_ = std::make_unique<net::SessionRegistry>();
    self->state_ = std::make_unique<LabState>(*self->lab_, *self->registry_, *self->outputs_);
    self->bridge_ = std::make_unique<net::LoopBridge>(self->loop_->get());
    auto listeners =
        LabListeners::start(self->loop_->get(), *self->registry_, *self->lab_, *self->outputs_,
                            *self->state_, *self->upstream_tls_, plan);
    if (listeners) {
        self->listeners_ = std::move(*listeners);
    }
    // give_up: close what was opened, and let the loop run their close callbacks.
    auto give_up = [&](const std::string& why) {
        if (self->listeners_) {
            self->listeners_->close();
        }
        self->bridge_->close();
        self->loop_->drain();
        return std::unexpected(why);
    };
    if (!listeners) {
        return give_up(listeners.error().message);
    }
    AdminServer::Config admin_config;
    admin_config.listen = {"127.0.0.1", 0};
    auto admin = AdminServer::start(admin_config, *self->bridge_, *self->state_);
    if (!admin) {
        return give_up(admin.error());
    }
    self->admin_ = std::move(*admin);
    InProcessLab* raw = self.get();
    self->thread_ = std::thread([raw] {
        raw->loop_->run([raw] {
            // A signal: the matrix sees stopped() and ends its run.
            raw->stopped_ = true;
            raw->bridge_->close();
            raw->listeners_->close();
            raw->registry_->close_all("shutting down");
        });
        raw->stopped_ = true;
    });
    return self;
}

void InProcessLab::stop() {
    if (stopping_) {
        return;
    }
    stopping_ = true;
    if (admin_) {
        admin_->stop();
    }
    if (!thread_.joinable()) {
        return; // start() gave up before the loop ran
    }
    if (!stopped_.load()) {
        bridge_->post([this] {
            loop_->stop_watching_signals();
            bridge_->close();
            listeners_->close();
            registry_->close_all("the matrix is done");
        });
    }
    thread_.join();
}

InProcessLab::~InProcessLab() {
    stop();
}

} // namespace proxy::app::matrix
