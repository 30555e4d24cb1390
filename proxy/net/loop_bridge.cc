#include <proxy/net/loop_bridge.h>

namespace proxy::net {

LoopBridge::LoopBridge(uv_loop_t* loop) {
    uv_async_init(loop, &async_, on_async);
    async_.data = this;
}

void LoopBridge::post(std::function<void()> task) {
    {
        std::lock_guard lock(mutex_);
        if (closed_) {
            return; // the promise is dropped: the caller's wait times out
        }
        tasks_.push_back(std::move(task));
    }
    uv_async_send(&async_);
}

void LoopBridge::close() {
    {
        std::lock_guard lock(mutex_);
        closed_ = true;
        tasks_.clear();
    }
    if (uv_is_closing(reinterpret_cast<uv_handle_t*>(&async_)) == 0) {
        uv_close(reinterpret_cast<uv_handle_t*>(&async_), nullptr);
    }
}

void LoopBridge::on_async(uv_async_t* handle) {
    auto* self = static_cast<LoopBridge*>(handle->data);
    std::deque<std::function<void()>> tasks;
    {
        std::lock_guard lock(self->mutex_);
        tasks.swap(self->tasks_);
    }
    for (auto& t : tasks) {
        t();
    }
}

} // namespace proxy::net
