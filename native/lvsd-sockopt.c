// lvsd-sockopt.node: the one socket option Node cannot set before a TCP connect, SO_MARK
// (keepalived's checker `fwmark`, used to route health checks by policy). It opens a
// non-blocking, close-on-exec TCP socket with the mark set and returns the fd; Node adopts it
// (new net.Socket({ fd })) and connects it as usual, so the SYN already carries the mark.
#include <errno.h>
#include <node_api.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static napi_value fail(napi_env env, const char *code, int err) {
  napi_throw_error(env, code, strerror(err));
  return NULL;
}

// openMarkedTcpSocket(family: 4 | 6, mark: number): number
static napi_value open_marked_tcp_socket(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  int32_t family = 0;
  uint32_t mark = 0;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 2 ||
      napi_get_value_int32(env, argv[0], &family) != napi_ok || (family != 4 && family != 6) ||
      napi_get_value_uint32(env, argv[1], &mark) != napi_ok) {
    napi_throw_type_error(env, "EINVAL", "openMarkedTcpSocket(family 4|6, mark)");
    return NULL;
  }
  int fd = socket(family == 6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return fail(env, "ESOCKET", errno);
  if (setsockopt(fd, SOL_SOCKET, SO_MARK, &mark, sizeof mark) < 0) {
    int err = errno;
    close(fd);
    return fail(env, "ESOMARK", err);
  }
  napi_value out;
  napi_create_int32(env, fd, &out);
  return out;
}

NAPI_MODULE_INIT() {
  napi_value fn;
  napi_create_function(env, "openMarkedTcpSocket", NAPI_AUTO_LENGTH, open_marked_tcp_socket, NULL, &fn);
  napi_set_named_property(env, exports, "openMarkedTcpSocket", fn);
  return exports;
}
