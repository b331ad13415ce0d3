/*
 * The rig's reader driver: vpcd (vsmartcard) with a card-event wait for pcscd.
 *
 * pcscd asks a reader driver for a card's presence, then sleeps 400 ms
 * (PCSCLITE_STATUS_POLL_RATE) unless the driver offers a wait function through
 * TAG_IFD_POLLING_THREAD_WITH_TIMEOUT. Debian's vpcd offers none, so a virtual card placed
 * or removed was seen 0-400 ms later. This driver loads vpcd (its own copy, next to this
 * file: libifdvpcd-N.so beside librigvpcd-N.so, so each reader entry keeps its own vpcd
 * state), forwards every IFDH call to it, and adds that wait: it asks vpcd for the card's
 * presence every POLL_US and returns as soon as it differs from what pcscd last saw.
 * Every call into vpcd is serialised by one mutex, because pcscd calls the wait function
 * from its event thread while client requests transmit APDUs from other threads.
 * vpcd answers "is a card there?" by asking the card for its ATR, a round trip to the vicc;
 * while pcscd knows the card is present the wait does not ask that every POLL_US (each ask
 * holds the mutex, so every APDU sent meanwhile waited for it: 5-60 ms per APDU in a busy
 * rig process). It watches vpcd's connection to the vicc instead: the vicc never speaks
 * unasked, so anything readable on it outside an exchange is the vicc hanging up (the card
 * taken away), and only then is vpcd asked.
 * docs/reader-stack.md explains it; rig/core/pcsc/daemon.py loads it.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <dirent.h>
#include <dlfcn.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <ifdhandler.h>

#define POLL_US 10000
#define MAX_SLOTS 16

typedef RESPONSECODE (*create_by_name_fn)(DWORD, LPSTR);
typedef RESPONSECODE (*create_fn)(DWORD, DWORD);
typedef RESPONSECODE (*lun_fn)(DWORD);
typedef RESPONSECODE (*get_caps_fn)(DWORD, DWORD, PDWORD, PUCHAR);
typedef RESPONSECODE (*set_caps_fn)(DWORD, DWORD, DWORD, PUCHAR);
typedef RESPONSECODE (*set_proto_fn)(DWORD, DWORD, UCHAR, UCHAR, UCHAR, UCHAR);
typedef RESPONSECODE (*power_fn)(DWORD, DWORD, PUCHAR, PDWORD);
typedef RESPONSECODE (*transmit_fn)(DWORD, SCARD_IO_HEADER, PUCHAR, DWORD, PUCHAR, PDWORD,
                                    PSCARD_IO_HEADER);
typedef RESPONSECODE (*control_fn)(DWORD, DWORD, PUCHAR, DWORD, PUCHAR, DWORD, LPDWORD);

static struct {
    void *handle;
    create_by_name_fn create_by_name;
    create_fn create;
    lun_fn close;
    lun_fn presence;
    get_caps_fn get_caps;
    set_caps_fn set_caps;
    set_proto_fn set_proto;
    power_fn power;
    transmit_fn transmit;
    control_fn control;
} vpcd;

/* recursive: vpcd's IFDHPowerICC calls IFDHGetCapabilities, should that ever reach us */
static pthread_mutex_t io = PTHREAD_RECURSIVE_MUTEX_INITIALIZER_NP;
static pthread_once_t loaded = PTHREAD_ONCE_INIT;
/* per slot: what pcscd last saw (IFD_ICC_PRESENT / _NOT_PRESENT, 0: nothing yet) */
static volatile RESPONSECODE seen[MAX_SLOTS];
/* per slot: a change the wait saw that pcscd has not been told yet (0: none). vpcd's answer
 * can be a passing one (a card swapped between two polls answers "absent" once, then
 * "present"): pcscd must be told the very answer that ended the wait, or it would see
 * "present" twice and never learn that the card was replaced. */
static RESPONSECODE pending[MAX_SLOTS];
/* per slot: pcscd asked the wait to end (one-shot: the wait that sees it ends and clears it) */
static int stopping[MAX_SLOTS];
/* per slot: the TCP port vpcd listens on for the vicc (0: unknown), and the descriptor of
 * its connection to the vicc once found (-1: not known) */
static int link_port[MAX_SLOTS];
static int link_fd[MAX_SLOTS];

static void load_vpcd(void)
{
    Dl_info self;
    char path[4096];
    if (!dladdr((void *)&load_vpcd, &self) || !self.dli_fname) {
        fprintf(stderr, "rig-vpcd-wait: cannot find its own file\n");
        return;
    }
    /* librigvpcd-N.so -> libifdvpcd-N.so in the same folder */
    const char *slash = strrchr(self.dli_fname, '/');
    const char *dash = strrchr(self.dli_fname, '-');
    if (!slash || !dash || dash < slash) {
        fprintf(stderr, "rig-vpcd-wait: unexpected file name %s\n", self.dli_fname);
        return;
    }
    snprintf(path, sizeof path, "%.*s/libifdvpcd%s", (int)(slash - self.dli_fname),
             self.dli_fname, dash);
    vpcd.handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!vpcd.handle) {
        fprintf(stderr, "rig-vpcd-wait: %s\n", dlerror());
        return;
    }
    vpcd.create_by_name = (create_by_name_fn)dlsym(vpcd.handle, "IFDHCreateChannelByName");
    vpcd.create = (create_fn)dlsym(vpcd.handle, "IFDHCreateChannel");
    vpcd.close = (lun_fn)dlsym(vpcd.handle, "IFDHCloseChannel");
    vpcd.presence = (lun_fn)dlsym(vpcd.handle, "IFDHICCPresence");
    vpcd.get_caps = (get_caps_fn)dlsym(vpcd.handle, "IFDHGetCapabilities");
    vpcd.set_caps = (set_caps_fn)dlsym(vpcd.handle, "IFDHSetCapabilities");
    vpcd.set_proto = (set_proto_fn)dlsym(vpcd.handle, "IFDHSetProtocolParameters");
    vpcd.power = (power_fn)dlsym(vpcd.handle, "IFDHPowerICC");
    vpcd.transmit = (transmit_fn)dlsym(vpcd.handle, "IFDHTransmitToICC");
    vpcd.control = (control_fn)dlsym(vpcd.handle, "IFDHControl");
}

static int ready(void)
{
    pthread_once(&loaded, load_vpcd);
    return vpcd.handle != NULL && vpcd.presence != NULL && vpcd.get_caps != NULL;
}

static unsigned slot_of(DWORD Lun) { return (unsigned)(Lun & 0xFFFF) % MAX_SLOTS; }

static int local_port(int fd)
{
    struct sockaddr_storage addr;
    socklen_t len = sizeof addr;
    if (getsockname(fd, (struct sockaddr *)&addr, &len) != 0)
        return -1;
    if (addr.ss_family == AF_INET)
        return ntohs(((struct sockaddr_in *)&addr)->sin_port);
    if (addr.ss_family == AF_INET6)
        return ntohs(((struct sockaddr_in6 *)&addr)->sin6_port);
    return -1;
}

/* vpcd's connection to the vicc: a socket on vpcd's port with a peer (the listening socket
 * has the same port and none) */
static int is_vicc_link(int fd, int port)
{
    struct sockaddr_storage peer;
    socklen_t len = sizeof peer;
    return local_port(fd) == port && getpeername(fd, (struct sockaddr *)&peer, &len) == 0;
}

static int find_vicc_link(unsigned slot)
{
    int port = link_port[slot];
    if (port <= 0)
        return -1;
    if (link_fd[slot] >= 0 && is_vicc_link(link_fd[slot], port))
        return link_fd[slot];
    link_fd[slot] = -1;
    DIR *fds = opendir("/proc/self/fd");
    if (!fds)
        return -1;
    struct dirent *entry;
    while ((entry = readdir(fds)) != NULL) {
        char *end;
        long fd = strtol(entry->d_name, &end, 10);
        if (*end == '\0' && end != entry->d_name && fd != dirfd(fds) && is_vicc_link((int)fd, port)) {
            link_fd[slot] = (int)fd;
            break;
        }
    }
    closedir(fds);
    return link_fd[slot];
}

/* With the mutex held (no exchange in flight): is the card pcscd saw present certainly
 * still there? Yes when vpcd's link to the vicc is open and quiet; anything else (nothing
 * found, data or a hang-up waiting) leaves the answer to vpcd. */
static int still_present(unsigned slot)
{
    if (seen[slot] != IFD_ICC_PRESENT)
        return 0;
    int fd = find_vicc_link(slot);
    if (fd < 0)
        return 0;
    struct pollfd p = {.fd = fd, .events = POLLIN | POLLRDHUP, .revents = 0};
    return poll(&p, 1, 0) == 0;
}

/* pcscd's event thread: back as soon as the card is not what pcscd last saw, or at timeout
 * (milliseconds), or when pcscd asks the wait to end. */
static RESPONSECODE wait_for_card_event(DWORD Lun, int timeout)
{
    unsigned slot = slot_of(Lun);
    struct timespec start, now;
    clock_gettime(CLOCK_MONOTONIC, &start);
    for (;;) {
        if (__atomic_exchange_n(&stopping[slot], 0, __ATOMIC_SEQ_CST))
            return IFD_SUCCESS;
        pthread_mutex_lock(&io);
        int changed = pending[slot] != 0;
        if (!changed && !still_present(slot)) {
            RESPONSECODE r = vpcd.presence(Lun);
            if (r != seen[slot]) {
                pending[slot] = r;
                changed = 1;
            }
        }
        pthread_mutex_unlock(&io);
        if (changed)
            return IFD_SUCCESS;
        clock_gettime(CLOCK_MONOTONIC, &now);
        long elapsed_ms = (now.tv_sec - start.tv_sec) * 1000 +
                          (now.tv_nsec - start.tv_nsec) / 1000000;
        if (timeout >= 0 && elapsed_ms >= timeout)
            return IFD_SUCCESS;
        usleep(POLL_US);
    }
}

/* pcscd asks the wait to end now: when it removes the reader (its thread then exits by a
 * flag of its own), and after SCardDisconnect with SCARD_UNPOWER_CARD (so that it looks at
 * the card again at once). So it ends one wait, the one running or, when pcscd is between
 * two, the next; never every later one, or pcscd would ask vpcd "is a card there?" in a
 * loop without pause (12,000 round trips a second to the card seen in session 5, which
 * held every APDU of that reader 5-60 ms). */
static RESPONSECODE stop_waiting(DWORD Lun)
{
    __atomic_store_n(&stopping[slot_of(Lun)], 1, __ATOMIC_SEQ_CST);
    return IFD_SUCCESS;
}

static void reset_slot(DWORD Lun, long port)
{
    unsigned slot = slot_of(Lun);
    __atomic_store_n(&stopping[slot], 0, __ATOMIC_SEQ_CST);
    seen[slot] = 0;
    pending[slot] = 0;
    link_fd[slot] = -1;
    /* vpcd listens for slot N of a reader on the reader's port + N */
    link_port[slot] = port > 0 ? (int)(port + (long)(Lun & 0xFFFF)) : 0;
}

RESPONSECODE IFDHCreateChannelByName(DWORD Lun, LPSTR DeviceName)
{
    if (!ready())
        return IFD_COMMUNICATION_ERROR;
    const char *colon = strrchr(DeviceName, ':');
    reset_slot(Lun, colon ? strtol(colon + 1, NULL, 10) : 0);
    if (vpcd.create_by_name)
        return vpcd.create_by_name(Lun, DeviceName);
    if (!colon || !vpcd.create)
        return IFD_COMMUNICATION_ERROR;
    return vpcd.create(Lun, (DWORD)strtoul(colon + 1, NULL, 10));
}

RESPONSECODE IFDHCreateChannel(DWORD Lun, DWORD Channel)
{
    if (!ready() || !vpcd.create)
        return IFD_COMMUNICATION_ERROR;
    reset_slot(Lun, (long)Channel);
    return vpcd.create(Lun, Channel);
}

RESPONSECODE IFDHCloseChannel(DWORD Lun)
{
    if (!ready())
        return IFD_COMMUNICATION_ERROR;
    stop_waiting(Lun);
    pthread_mutex_lock(&io);
    RESPONSECODE r = vpcd.close(Lun);
    pthread_mutex_unlock(&io);
    return r;
}

RESPONSECODE IFDHGetCapabilities(DWORD Lun, DWORD Tag, PDWORD Length, PUCHAR Value)
{
    if (!ready())
        return IFD_COMMUNICATION_ERROR;
    if (Tag == TAG_IFD_POLLING_THREAD_WITH_TIMEOUT || Tag == TAG_IFD_STOP_POLLING_THREAD) {
        void *fn = Tag == TAG_IFD_POLLING_THREAD_WITH_TIMEOUT ? (void *)&wait_for_card_event
                                                              : (void *)&stop_waiting;
        if (*Length < sizeof fn)
            return IFD_ERROR_TAG;
        memcpy(Value, &fn, sizeof fn);
        *Length = sizeof fn;
        return IFD_SUCCESS;
    }
    pthread_mutex_lock(&io);
    RESPONSECODE r = vpcd.get_caps(Lun, Tag, Length, Value);
    pthread_mutex_unlock(&io);
    return r;
}

RESPONSECODE IFDHSetCapabilities(DWORD Lun, DWORD Tag, DWORD Length, PUCHAR Value)
{
    if (!ready() || !vpcd.set_caps)
        return IFD_NOT_SUPPORTED;
    pthread_mutex_lock(&io);
    RESPONSECODE r = vpcd.set_caps(Lun, Tag, Length, Value);
    pthread_mutex_unlock(&io);
    return r;
}

RESPONSECODE IFDHSetProtocolParameters(DWORD Lun, DWORD Protocol, UCHAR Flags, UCHAR PTS1,
                                       UCHAR PTS2, UCHAR PTS3)
{
    if (!ready() || !vpcd.set_proto)
        return IFD_NOT_SUPPORTED;
    pthread_mutex_lock(&io);
    RESPONSECODE r = vpcd.set_proto(Lun, Protocol, Flags, PTS1, PTS2, PTS3);
    pthread_mutex_unlock(&io);
    return r;
}

RESPONSECODE IFDHPowerICC(DWORD Lun, DWORD Action, PUCHAR Atr, PDWORD AtrLength)
{
    if (!ready() || !vpcd.power)
        return IFD_COMMUNICATION_ERROR;
    pthread_mutex_lock(&io);
    RESPONSECODE r = vpcd.power(Lun, Action, Atr, AtrLength);
    pthread_mutex_unlock(&io);
    return r;
}

RESPONSECODE IFDHTransmitToICC(DWORD Lun, SCARD_IO_HEADER SendPci, PUCHAR TxBuffer,
                               DWORD TxLength, PUCHAR RxBuffer, PDWORD RxLength,
                               PSCARD_IO_HEADER RecvPci)
{
    if (!ready() || !vpcd.transmit)
        return IFD_COMMUNICATION_ERROR;
    pthread_mutex_lock(&io);
    RESPONSECODE r = vpcd.transmit(Lun, SendPci, TxBuffer, TxLength, RxBuffer, RxLength,
                                   RecvPci);
    pthread_mutex_unlock(&io);
    return r;
}

RESPONSECODE IFDHControl(DWORD Lun, DWORD dwControlCode, PUCHAR TxBuffer, DWORD TxLength,
                         PUCHAR RxBuffer, DWORD RxLength, LPDWORD pdwBytesReturned)
{
    if (!ready() || !vpcd.control)
        return IFD_ERROR_NOT_SUPPORTED;
    pthread_mutex_lock(&io);
    RESPONSECODE r = vpcd.control(Lun, dwControlCode, TxBuffer, TxLength, RxBuffer, RxLength,
                                  pdwBytesReturned);
    pthread_mutex_unlock(&io);
    return r;
}

RESPONSECODE IFDHICCPresence(DWORD Lun)
{
    if (!ready())
        return IFD_COMMUNICATION_ERROR;
    unsigned slot = slot_of(Lun);
    pthread_mutex_lock(&io);
    RESPONSECODE r = pending[slot];
    pending[slot] = 0;
    if (r == 0)
        r = vpcd.presence(Lun);
    seen[slot] = r; /* what pcscd now believes */
    pthread_mutex_unlock(&io);
    return r;
}
