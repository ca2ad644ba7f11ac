/*
 * A PKCS#11 test module that makes a SoftHSM2 token behave like a USB
 * smart-card token (SafeNet eToken): slow signatures, one token operation at a
 * time across all processes, a persistent user-PIN retry counter, removal and
 * re-insertion under a new slot id, no C_WaitForSlotEvent, injected device
 * errors and a log of every signature. Tests switch all of it at run time
 * through files in $SMARTCARD_CONTROL_DIR (see README.md).
 *
 * Hand-written C on purpose: the product loads vendor modules by path through
 * the PKCS#11 C ABI, so the behaviour has to sit behind that ABI, and no
 * library wraps a module this way.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <p11-kit/pkcs11.h>

#define DEFAULT_SOFTHSM_MODULE "/usr/lib/softhsm/libsofthsm2.so"
#define DEFAULT_SIGN_LATENCY_MS 250
#define DEFAULT_MAX_PIN_TRIES 3
/* Slot ids are SLOT_ID_BASE + insertion: each insertion of the token gets a new one. */
#define SLOT_ID_BASE 100
#define REQUEST_ID_MAX 64
#define KEY_VALUE_FILE_MAX 8192
#define SLOT_DESCRIPTION "etoken-ca test smart-card reader (SoftHSM2 inside)"

#define CONTROL_FILE "control"
#define STATE_FILE "state"
#define STATE_LOCK_FILE "state.lock"
#define TOKEN_LOCK_FILE "token.lock"
#define SIGNATURE_LOG_FILE "signatures.log"

/* The control file: written by the tests only. */
struct control {
    bool present;
    unsigned long insertion;
    unsigned long sign_latency_ms;
    unsigned long sign_jitter_ms;
    unsigned long max_pin_tries;
    unsigned long device_error_next;
    char device_error_request[REQUEST_ID_MAX];
    double device_error_rate;
    char pin_reset_request[REQUEST_ID_MAX];
};

/* The state file: what the token remembers, shared by all processes, changed under the state lock. */
struct token_state {
    unsigned long wrong_user_pins;
    unsigned long device_errors_left;
    /* The last device_error_next batch and pin_reset_request taken from the control file. */
    char device_error_batch[REQUEST_ID_MAX + 24];
    char pin_reset_request[REQUEST_ID_MAX];
    /* Not stored: whether this call has to write the file back. */
    bool changed;
};

struct session {
    CK_SESSION_HANDLE handle;
    CK_SESSION_HANDLE real_handle;
};

static pthread_mutex_t process_mutex = PTHREAD_MUTEX_INITIALIZER;
/*
 * The process's view of the token, guarded by process_mutex; `real`,
 * `real_slot` and `control_dir` only change in C_Initialize, before
 * `initialized` lets any other call through.
 */
static bool initialized;
/* SoftHSM's functions; it stays loaded once opened, as unloading it is not worth its static destructors. */
static CK_FUNCTION_LIST_PTR real;
static CK_SLOT_ID real_slot;
static char control_dir[PATH_MAX];
/* The insertion this process's sessions belong to. */
static unsigned long known_insertion;
static struct session *sessions;
static size_t session_count;
static size_t session_capacity;
/* Handles are never reused, so a handle from before a re-insertion can never come back to life. */
static CK_SESSION_HANDLE next_session_handle = 1;

static void complain(const char *format, ...) __attribute__((format(printf, 1, 2)));
static void complain(const char *format, ...)
{
    va_list args;
    va_start(args, format);
    fputs("pkcs11-smartcard: ", stderr);
    vfprintf(stderr, format, args);
    fputc('\n', stderr);
    va_end(args);
}

static bool control_path(const char *name, char *path, size_t size)
{
    int length = snprintf(path, size, "%s/%s", control_dir, name);
    if (length < 0 || (size_t)length >= size) {
        complain("path too long: %s/%s", control_dir, name);
        return false;
    }
    return true;
}

/* Opens a file every process using the token shares; a new one is readable by all, whatever the umask. */
static int open_shared_file(const char *name, int flags)
{
    char path[PATH_MAX];
    if (!control_path(name, path, sizeof path)) return -1;
    int fd = open(path, flags | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (fd >= 0) {
        if (fchmod(fd, 0644) != 0) {
            complain("chmod %s: %s", path, strerror(errno));
            close(fd);
            return -1;
        }
        return fd;
    }
    if (errno == EEXIST) fd = open(path, flags | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) complain("open %s: %s", path, strerror(errno));
    return fd;
}

/* flock on a descriptor of its own: excludes other threads of this process as well as other processes. */
static int lock_file(const char *name)
{
    int fd = open_shared_file(name, O_RDONLY);
    if (fd < 0) return -1;
    while (flock(fd, LOCK_EX) != 0) {
        if (errno != EINTR) {
            complain("flock %s: %s", name, strerror(errno));
            close(fd);
            return -1;
        }
    }
    return fd;
}

static void unlock_file(int fd)
{
    close(fd);
}

static double now_ms(void)
{
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    return (double)now.tv_sec * 1000.0 + (double)now.tv_nsec / 1e6;
}

static void sleep_ms(unsigned long ms)
{
    struct timespec deadline;
    clock_gettime(CLOCK_MONOTONIC, &deadline);
    deadline.tv_sec += (time_t)(ms / 1000);
    deadline.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (deadline.tv_nsec >= 1000000000L) {
        deadline.tv_sec += 1;
        deadline.tv_nsec -= 1000000000L;
    }
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &deadline, NULL) == EINTR) {
    }
}

/* Uniform in [0, 1). */
static double random_fraction(void)
{
    uint64_t bits = 0;
    while (getrandom(&bits, sizeof bits, 0) != (ssize_t)sizeof bits) {
    }
    return (double)(bits >> 11) * 0x1.0p-53;
}

static bool parse_unsigned(const char *text, unsigned long *out)
{
    if (*text < '0' || *text > '9') return false;
    char *end;
    errno = 0;
    unsigned long value = strtoul(text, &end, 10);
    if (errno != 0 || *end != '\0') return false;
    *out = value;
    return true;
}

static bool parse_fraction(const char *text, double *out)
{
    if (*text == '\0') return false;
    char *end;
    errno = 0;
    double value = strtod(text, &end);
    if (errno != 0 || *end != '\0' || !(value >= 0.0 && value <= 1.0)) return false;
    *out = value;
    return true;
}

static bool copy_text(const char *text, char *out, size_t size)
{
    size_t length = strlen(text);
    if (length >= size) return false;
    memcpy(out, text, length + 1);
    return true;
}

typedef bool (*assign_fn)(void *target, const char *key, const char *value);

/*
 * Reads a file of key=value lines from the control directory into `target`;
 * a missing file leaves the defaults. Anything unknown or malformed is an
 * error: a test that writes a typo must not silently test something else.
 */
static CK_RV read_key_values(const char *name, assign_fn assign, void *target)
{
    char path[PATH_MAX];
    if (!control_path(name, path, sizeof path)) return CKR_GENERAL_ERROR;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT) return CKR_OK;
        complain("open %s: %s", path, strerror(errno));
        return CKR_GENERAL_ERROR;
    }
    char text[KEY_VALUE_FILE_MAX + 1];
    size_t length = 0;
    for (;;) {
        ssize_t got = read(fd, text + length, sizeof text - 1 - length);
        if (got < 0 && errno == EINTR) continue;
        if (got < 0) {
            complain("read %s: %s", path, strerror(errno));
            close(fd);
            return CKR_GENERAL_ERROR;
        }
        if (got == 0) break;
        length += (size_t)got;
        if (length == sizeof text - 1) {
            complain("%s is longer than %d bytes", path, KEY_VALUE_FILE_MAX);
            close(fd);
            return CKR_GENERAL_ERROR;
        }
    }
    close(fd);
    text[length] = '\0';

    int line_number = 0;
    for (char *line = text, *next; line != NULL && *line != '\0'; line = next) {
        line_number++;
        next = strchr(line, '\n');
        if (next != NULL) *next++ = '\0';
        if (*line == '\0' || *line == '#') continue;
        char *equals = strchr(line, '=');
        if (equals == NULL) {
            complain("%s line %d: expected key=value: %s", path, line_number, line);
            return CKR_GENERAL_ERROR;
        }
        *equals = '\0';
        if (!assign(target, line, equals + 1)) {
            complain("%s line %d: unknown key or bad value: %s=%s", path, line_number, line, equals + 1);
            return CKR_GENERAL_ERROR;
        }
    }
    return CKR_OK;
}

static bool assign_control(void *target, const char *key, const char *value)
{
    struct control *control = target;
    if (strcmp(key, "present") == 0) {
        if (strcmp(value, "0") != 0 && strcmp(value, "1") != 0) return false;
        control->present = value[0] == '1';
        return true;
    }
    if (strcmp(key, "insertion") == 0) return parse_unsigned(value, &control->insertion);
    if (strcmp(key, "sign_latency_ms") == 0) return parse_unsigned(value, &control->sign_latency_ms);
    if (strcmp(key, "sign_jitter_ms") == 0) return parse_unsigned(value, &control->sign_jitter_ms);
    if (strcmp(key, "max_pin_tries") == 0) return parse_unsigned(value, &control->max_pin_tries) && control->max_pin_tries > 0;
    if (strcmp(key, "device_error_next") == 0) return parse_unsigned(value, &control->device_error_next);
    if (strcmp(key, "device_error_request") == 0) return copy_text(value, control->device_error_request, sizeof control->device_error_request);
    if (strcmp(key, "device_error_rate") == 0) return parse_fraction(value, &control->device_error_rate);
    if (strcmp(key, "pin_reset_request") == 0) return copy_text(value, control->pin_reset_request, sizeof control->pin_reset_request);
    return false;
}

static CK_RV read_control(struct control *control)
{
    *control = (struct control){
        .present = true,
        .sign_latency_ms = DEFAULT_SIGN_LATENCY_MS,
        .max_pin_tries = DEFAULT_MAX_PIN_TRIES,
    };
    return read_key_values(CONTROL_FILE, assign_control, control);
}

static bool assign_state(void *target, const char *key, const char *value)
{
    struct token_state *state = target;
    if (strcmp(key, "wrong_user_pins") == 0) return parse_unsigned(value, &state->wrong_user_pins);
    if (strcmp(key, "device_errors_left") == 0) return parse_unsigned(value, &state->device_errors_left);
    if (strcmp(key, "device_error_batch") == 0) return copy_text(value, state->device_error_batch, sizeof state->device_error_batch);
    if (strcmp(key, "pin_reset_request") == 0) return copy_text(value, state->pin_reset_request, sizeof state->pin_reset_request);
    return false;
}

/* Reads the state (the state lock held) and carries out the control file's requests it has not seen yet. */
static CK_RV load_state(const struct control *control, struct token_state *state)
{
    *state = (struct token_state){.device_error_batch = "0:"};
    CK_RV rv = read_key_values(STATE_FILE, assign_state, state);
    if (rv != CKR_OK) return rv;

    char batch[sizeof state->device_error_batch];
    snprintf(batch, sizeof batch, "%lu:%s", control->device_error_next, control->device_error_request);
    if (strcmp(batch, state->device_error_batch) != 0) {
        memcpy(state->device_error_batch, batch, sizeof batch);
        state->device_errors_left = control->device_error_next;
        state->changed = true;
    }
    if (strcmp(control->pin_reset_request, state->pin_reset_request) != 0) {
        memcpy(state->pin_reset_request, control->pin_reset_request, sizeof state->pin_reset_request);
        state->wrong_user_pins = 0;
        state->changed = true;
    }
    return CKR_OK;
}

/* Replaces the state file whole (rename), so that readers never see half of it. */
static CK_RV store_state(const struct token_state *state)
{
    char text[KEY_VALUE_FILE_MAX];
    int length = snprintf(text, sizeof text, "wrong_user_pins=%lu\ndevice_errors_left=%lu\ndevice_error_batch=%s\npin_reset_request=%s\n",
                          state->wrong_user_pins, state->device_errors_left, state->device_error_batch, state->pin_reset_request);
    char temporary_name[64];
    snprintf(temporary_name, sizeof temporary_name, STATE_FILE ".%d.tmp", (int)getpid());
    char temporary[PATH_MAX], final[PATH_MAX];
    if (!control_path(temporary_name, temporary, sizeof temporary) || !control_path(STATE_FILE, final, sizeof final)) return CKR_GENERAL_ERROR;
    unlink(temporary);
    int fd = open_shared_file(temporary_name, O_WRONLY);
    if (fd < 0) return CKR_GENERAL_ERROR;
    bool written = write(fd, text, (size_t)length) == length;
    if (close(fd) != 0 || !written || rename(temporary, final) != 0) {
        complain("writing %s: %s", final, strerror(errno));
        unlink(temporary);
        return CKR_GENERAL_ERROR;
    }
    return CKR_OK;
}

enum state_change {
    STATE_READ,
    STATE_WRONG_USER_PIN,
    STATE_USER_PIN_VERIFIED,
    /* Takes one injected device error, if one is due, into `device_error`. */
    STATE_SIGNATURE,
};

static CK_RV update_state(const struct control *control, enum state_change change, struct token_state *state, bool *device_error)
{
    int lock = lock_file(STATE_LOCK_FILE);
    if (lock < 0) return CKR_GENERAL_ERROR;
    CK_RV rv = load_state(control, state);
    if (rv == CKR_OK) {
        switch (change) {
        case STATE_READ:
            break;
        case STATE_WRONG_USER_PIN:
            state->wrong_user_pins++;
            state->changed = true;
            break;
        case STATE_USER_PIN_VERIFIED:
            state->changed = state->changed || state->wrong_user_pins != 0;
            state->wrong_user_pins = 0;
            break;
        case STATE_SIGNATURE:
            if (state->device_errors_left > 0) {
                state->device_errors_left--;
                state->changed = true;
                *device_error = true;
            } else {
                *device_error = control->device_error_rate > 0.0 && random_fraction() < control->device_error_rate;
            }
            break;
        }
        if (state->changed) rv = store_state(state);
    }
    unlock_file(lock);
    return rv;
}

static unsigned long user_pin_tries_left(const struct control *control, const struct token_state *state)
{
    return state->wrong_user_pins >= control->max_pin_tries ? 0 : control->max_pin_tries - state->wrong_user_pins;
}

/*
 * COUNT_LOW after a wrong try (PKCS#11's definition), with FINAL_TRY when one
 * try is left; LOCKED alone, as OpenSC's card modules report a locked PIN.
 */
static CK_FLAGS user_pin_flags(const struct control *control, const struct token_state *state)
{
    unsigned long left = user_pin_tries_left(control, state);
    if (left == 0) return CKF_USER_PIN_LOCKED;
    CK_FLAGS flags = left == 1 ? CKF_USER_PIN_FINAL_TRY : 0;
    if (state->wrong_user_pins > 0) flags |= CKF_USER_PIN_COUNT_LOW;
    return flags;
}

static CK_SLOT_ID slot_id(const struct control *control)
{
    return SLOT_ID_BASE + control->insertion;
}

static struct session *find_session(CK_SESSION_HANDLE handle)
{
    for (size_t i = 0; i < session_count; i++) {
        if (sessions[i].handle == handle) return &sessions[i];
    }
    return NULL;
}

static void drop_session(struct session *session)
{
    *session = sessions[--session_count];
}

/*
 * A re-inserted token has forgotten this process: its sessions die, and
 * closing SoftHSM's last session on the token also logs it out.
 */
static void forget_replaced_token(const struct control *control)
{
    if (control->insertion == known_insertion) return;
    for (size_t i = 0; i < session_count; i++) real->C_CloseSession(sessions[i].real_handle);
    session_count = 0;
    known_insertion = control->insertion;
}

/* Reads the control file and catches up with a re-insertion; process_mutex held. */
static CK_RV observe_token_locked(struct control *control)
{
    if (!initialized) return CKR_CRYPTOKI_NOT_INITIALIZED;
    CK_RV rv = read_control(control);
    if (rv == CKR_OK) forget_replaced_token(control);
    return rv;
}

static CK_RV observe_token(struct control *control)
{
    pthread_mutex_lock(&process_mutex);
    CK_RV rv = observe_token_locked(control);
    pthread_mutex_unlock(&process_mutex);
    return rv;
}

static CK_RV enter_slot(CK_SLOT_ID slot, bool needs_token, struct control *control)
{
    CK_RV rv = observe_token(control);
    if (rv != CKR_OK) return rv;
    if (slot != slot_id(control)) return CKR_SLOT_ID_INVALID;
    if (needs_token && !control->present) return CKR_TOKEN_NOT_PRESENT;
    return CKR_OK;
}

static CK_RV enter_session(CK_SESSION_HANDLE handle, struct control *control, CK_SESSION_HANDLE *real_handle)
{
    pthread_mutex_lock(&process_mutex);
    CK_RV rv = observe_token_locked(control);
    if (rv == CKR_OK) {
        struct session *session = find_session(handle);
        if (session == NULL) rv = CKR_SESSION_HANDLE_INVALID;
        else if (!control->present) rv = CKR_DEVICE_REMOVED;
        else *real_handle = session->real_handle;
    }
    pthread_mutex_unlock(&process_mutex);
    return rv;
}

/* ---- Calls that only need a live session: forwarded unchanged. ---- */

#define FORWARD_SESSION_CALL(name, params, args)                              \
    static CK_RV sc_##name params                                             \
    {                                                                         \
        struct control control;                                               \
        CK_SESSION_HANDLE real_session;                                       \
        CK_RV rv = enter_session(session, &control, &real_session);           \
        if (rv != CKR_OK) return rv;                                          \
        return real->C_##name args;                                           \
    }

FORWARD_SESSION_CALL(GetOperationState, (CK_SESSION_HANDLE session, CK_BYTE_PTR state, CK_ULONG_PTR state_len),
                     (real_session, state, state_len))
FORWARD_SESSION_CALL(SetOperationState,
                     (CK_SESSION_HANDLE session, CK_BYTE_PTR state, CK_ULONG state_len, CK_OBJECT_HANDLE encryption_key,
                      CK_OBJECT_HANDLE authentication_key),
                     (real_session, state, state_len, encryption_key, authentication_key))
FORWARD_SESSION_CALL(Logout, (CK_SESSION_HANDLE session), (real_session))
FORWARD_SESSION_CALL(CreateObject,
                     (CK_SESSION_HANDLE session, CK_ATTRIBUTE_PTR attributes, CK_ULONG attribute_count, CK_OBJECT_HANDLE_PTR object),
                     (real_session, attributes, attribute_count, object))
FORWARD_SESSION_CALL(CopyObject,
                     (CK_SESSION_HANDLE session, CK_OBJECT_HANDLE object, CK_ATTRIBUTE_PTR attributes, CK_ULONG attribute_count,
                      CK_OBJECT_HANDLE_PTR new_object),
                     (real_session, object, attributes, attribute_count, new_object))
FORWARD_SESSION_CALL(DestroyObject, (CK_SESSION_HANDLE session, CK_OBJECT_HANDLE object), (real_session, object))
FORWARD_SESSION_CALL(GetObjectSize, (CK_SESSION_HANDLE session, CK_OBJECT_HANDLE object, CK_ULONG_PTR size),
                     (real_session, object, size))
FORWARD_SESSION_CALL(GetAttributeValue,
                     (CK_SESSION_HANDLE session, CK_OBJECT_HANDLE object, CK_ATTRIBUTE_PTR attributes, CK_ULONG attribute_count),
                     (real_session, object, attributes, attribute_count))
FORWARD_SESSION_CALL(SetAttributeValue,
                     (CK_SESSION_HANDLE session, CK_OBJECT_HANDLE object, CK_ATTRIBUTE_PTR attributes, CK_ULONG attribute_count),
                     (real_session, object, attributes, attribute_count))
FORWARD_SESSION_CALL(FindObjectsInit, (CK_SESSION_HANDLE session, CK_ATTRIBUTE_PTR attributes, CK_ULONG attribute_count),
                     (real_session, attributes, attribute_count))
FORWARD_SESSION_CALL(FindObjects,
                     (CK_SESSION_HANDLE session, CK_OBJECT_HANDLE_PTR objects, CK_ULONG max_objects, CK_ULONG_PTR object_count),
                     (real_session, objects, max_objects, object_count))
FORWARD_SESSION_CALL(FindObjectsFinal, (CK_SESSION_HANDLE session), (real_session))
FORWARD_SESSION_CALL(EncryptInit, (CK_SESSION_HANDLE session, CK_MECHANISM_PTR mechanism, CK_OBJECT_HANDLE key),
                     (real_session, mechanism, key))
FORWARD_SESSION_CALL(Encrypt,
                     (CK_SESSION_HANDLE session, CK_BYTE_PTR data, CK_ULONG data_len, CK_BYTE_PTR out, CK_ULONG_PTR out_len),
                     (real_session, data, data_len, out, out_len))
FORWARD_SESSION_CALL(EncryptUpdate,
                     (CK_SESSION_HANDLE session, CK_BYTE_PTR part, CK_ULONG part_len, CK_BYTE_PTR out, CK_ULONG_PTR out_len),
                     (real_session, part, part_len, out, out_len))
FORWARD_SESSION_CALL(EncryptFinal, (CK_SESSION_HANDLE session, CK_BYTE_PTR out, CK_ULONG_PTR out_len),
                     (real_session, out, out_len))
FORWARD_SESSION_CALL(DecryptInit, (CK_SESSION_HANDLE session, CK_MECHANISM_PTR mechanism, CK_OBJECT_HANDLE key),
                     (real_session, mechanism, key))
FORWARD_SESSION_CALL(Decrypt,
                     (CK_SESSION_HANDLE session, CK_BYTE_PTR data, CK_ULONG data_len, CK_BYTE_PTR out, CK_ULONG_PTR out_len),
                     (real_session, data, data_len, out, out_len))
FORWARD_SESSION_CALL(DecryptUpdate,
                     (CK_SESSION_HANDLE session, CK_BYTE_PTR part, CK_ULONG part_len, CK_BYTE_PTR out, CK_ULONG_PTR out_len),
                     (real_session, part, part_len, out, out_len))
FORWARD_SESSION_CALL(DecryptFinal, (CK_SESSION_HANDLE session, CK_BYTE_PTR out, CK_ULONG_PTR out_len),
                     (real_session, out, out_len))
FORWARD_SESSION_CALL(DigestInit, (CK_SESSION_HANDLE session, CK_MECHANISM_PTR mechanism), (real_session, mechanism))
FORWARD_SESSION_CALL(Digest,
                     (CK_SESSION_HANDLE session, CK_BYTE_PTR data, CK_ULONG data_len, CK_BYTE_PTR digest, CK_ULONG_PTR digest_len),
                     (real_session, data, data_len, digest, digest_len))
FORWARD_SESSION_CALL(DigestUpdate, (CK_SESSION_HANDLE session, CK_BYTE_PTR part, CK_ULONG part_len),
                     (real_session, part, part_len))
FORWARD_SESSION_CALL(DigestKey, (CK_SESSION_HANDLE session, CK_OBJECT_HANDLE key), (real_session, key))
FORWARD_SESSION_CALL(DigestFinal, (CK_SESSION_HANDLE session, CK_BYTE_PTR digest, CK_ULONG_PTR digest_len),
                     (real_session, digest, digest_len))
FORWARD_SESSION_CALL(SignInit, (CK_SESSION_HANDLE session, CK_MECHANISM_PTR mechanism, CK_OBJECT_HANDLE key),
                     (real_session, mechanism, key))
FORWARD_SESSION_CALL(SignUpdate, (CK_SESSION_HANDLE session, CK_BYTE_PTR part, CK_ULONG part_len),
                     (real_session, part, part_len))
FORWARD_SESSION_CALL(SignRecoverInit, (CK_SESSION_HANDLE session, CK_MECHANISM_PTR mechanism, CK_OBJECT_HANDLE key),
                     (real_session, mechanism, key))
FORWARD_SESSION_CALL(SignRecover,
                     (CK_SESSION_HANDLE session, CK_BYTE_PTR data, CK_ULONG data_len, CK_BYTE_PTR signature,
                      CK_ULONG_PTR signature_len),
                     (real_session, data, data_len, signature, signature_len))
FORWARD_SESSION_CALL(VerifyInit, (CK_SESSION_HANDLE session, CK_MECHANISM_PTR mechanism, CK_OBJECT_HANDLE key),
                     (real_session, mechanism, key))
FORWARD_SESSION_CALL(Verify,
                     (CK_SESSION_HANDLE session, CK_BYTE_PTR data, CK_ULONG data_len, CK_BYTE_PTR signature, CK_ULONG signature_len),
                     (real_session, data, data_len, signature, signature_len))
FORWARD_SESSION_CALL(VerifyUpdate, (CK_SESSION_HANDLE session, CK_BYTE_PTR part, CK_ULONG part_len),
                     (real_session, part, part_len))
FORWARD_SESSION_CALL(VerifyFinal, (CK_SESSION_HANDLE session, CK_BYTE_PTR signature, CK_ULONG signature_len),
                     (real_session, signature, signature_len))
FORWARD_SESSION_CALL(VerifyRecoverInit, (CK_SESSION_HANDLE session, CK_MECHANISM_PTR mechanism, CK_OBJECT_HANDLE key),
                     (real_session, mechanism, key))
FORWARD_SESSION_CALL(VerifyRecover,
                     (CK_SESSION_HANDLE session, CK_BYTE_PTR signature, CK_ULONG signature_len, CK_BYTE_PTR data,
                      CK_ULONG_PTR data_len),
                     (real_session, signature, signature_len, data, data_len))
FORWARD_SESSION_CALL(DigestEncryptUpdate,
                     (CK_SESSION_HANDLE session, CK_BYTE_PTR part, CK_ULONG part_len, CK_BYTE_PTR out, CK_ULONG_PTR out_len),
                     (real_session, part, part_len, out, out_len))
FORWARD_SESSION_CALL(DecryptDigestUpdate,
                     (CK_SESSION_HANDLE session, CK_BYTE_PTR part, CK_ULONG part_len, CK_BYTE_PTR out, CK_ULONG_PTR out_len),
                     (real_session, part, part_len, out, out_len))
FORWARD_SESSION_CALL(SignEncryptUpdate,
                     (CK_SESSION_HANDLE session, CK_BYTE_PTR part, CK_ULONG part_len, CK_BYTE_PTR out, CK_ULONG_PTR out_len),
                     (real_session, part, part_len, out, out_len))
FORWARD_SESSION_CALL(DecryptVerifyUpdate,
                     (CK_SESSION_HANDLE session, CK_BYTE_PTR part, CK_ULONG part_len, CK_BYTE_PTR out, CK_ULONG_PTR out_len),
                     (real_session, part, part_len, out, out_len))
FORWARD_SESSION_CALL(GenerateKey,
                     (CK_SESSION_HANDLE session, CK_MECHANISM_PTR mechanism, CK_ATTRIBUTE_PTR attributes, CK_ULONG attribute_count,
                      CK_OBJECT_HANDLE_PTR key),
                     (real_session, mechanism, attributes, attribute_count, key))
FORWARD_SESSION_CALL(GenerateKeyPair,
                     (CK_SESSION_HANDLE session, CK_MECHANISM_PTR mechanism, CK_ATTRIBUTE_PTR public_attributes,
                      CK_ULONG public_attribute_count, CK_ATTRIBUTE_PTR private_attributes, CK_ULONG private_attribute_count,
                      CK_OBJECT_HANDLE_PTR public_key, CK_OBJECT_HANDLE_PTR private_key),
                     (real_session, mechanism, public_attributes, public_attribute_count, private_attributes,
                      private_attribute_count, public_key, private_key))
FORWARD_SESSION_CALL(WrapKey,
                     (CK_SESSION_HANDLE session, CK_MECHANISM_PTR mechanism, CK_OBJECT_HANDLE wrapping_key, CK_OBJECT_HANDLE key,
                      CK_BYTE_PTR wrapped_key, CK_ULONG_PTR wrapped_key_len),
                     (real_session, mechanism, wrapping_key, key, wrapped_key, wrapped_key_len))
FORWARD_SESSION_CALL(UnwrapKey,
                     (CK_SESSION_HANDLE session, CK_MECHANISM_PTR mechanism, CK_OBJECT_HANDLE unwrapping_key,
                      CK_BYTE_PTR wrapped_key, CK_ULONG wrapped_key_len, CK_ATTRIBUTE_PTR attributes, CK_ULONG attribute_count,
                      CK_OBJECT_HANDLE_PTR key),
                     (real_session, mechanism, unwrapping_key, wrapped_key, wrapped_key_len, attributes, attribute_count, key))
FORWARD_SESSION_CALL(DeriveKey,
                     (CK_SESSION_HANDLE session, CK_MECHANISM_PTR mechanism, CK_OBJECT_HANDLE base_key, CK_ATTRIBUTE_PTR attributes,
                      CK_ULONG attribute_count, CK_OBJECT_HANDLE_PTR key),
                     (real_session, mechanism, base_key, attributes, attribute_count, key))
FORWARD_SESSION_CALL(SeedRandom, (CK_SESSION_HANDLE session, CK_BYTE_PTR seed, CK_ULONG seed_len), (real_session, seed, seed_len))
FORWARD_SESSION_CALL(GenerateRandom, (CK_SESSION_HANDLE session, CK_BYTE_PTR out, CK_ULONG out_len), (real_session, out, out_len))
FORWARD_SESSION_CALL(GetFunctionStatus, (CK_SESSION_HANDLE session), (real_session))
FORWARD_SESSION_CALL(CancelFunction, (CK_SESSION_HANDLE session), (real_session))

/* ---- Signatures: slow, one at a time, removable mid-way, injectable errors, logged. ---- */

/* The real call that yields the signature: C_Sign (data != NULL) or C_SignFinal, and the caller's buffer. */
struct signing {
    CK_SESSION_HANDLE real_session;
    CK_BYTE_PTR data;
    CK_ULONG data_len;
    CK_BYTE_PTR signature;
    CK_ULONG_PTR signature_len;
};

static CK_RV real_signing(const struct signing *signing, CK_BYTE_PTR signature, CK_ULONG_PTR signature_len)
{
    if (signing->data != NULL) return real->C_Sign(signing->real_session, signing->data, signing->data_len, signature, signature_len);
    return real->C_SignFinal(signing->real_session, signature, signature_len);
}

/*
 * A failed C_Sign ends the signing operation (PKCS#11 2.40, 5.11); SoftHSM
 * only ends it by signing, so sign into a buffer nobody sees. An error from
 * SoftHSM here has ended the operation as well.
 */
static void end_real_signing(const struct signing *signing)
{
    CK_ULONG length = 0;
    if (real_signing(signing, NULL, &length) != CKR_OK) return;
    CK_BYTE_PTR scratch = malloc(length > 0 ? length : 1);
    if (scratch == NULL) return;
    real_signing(signing, scratch, &length);
    free(scratch);
}

static void log_signature(double started, double ended, CK_RV rv)
{
    int fd = open_shared_file(SIGNATURE_LOG_FILE, O_WRONLY | O_APPEND);
    if (fd < 0) return;
    char line[128];
    int length = snprintf(line, sizeof line, "%.3f %.3f %d 0x%lx\n", started, ended, (int)getpid(), (unsigned long)rv);
    if (write(fd, line, (size_t)length) != length) complain("writing %s/%s: %s", control_dir, SIGNATURE_LOG_FILE, strerror(errno));
    close(fd);
}

/* The token's part of a signature, under the token lock shared by all processes. */
static CK_RV sign_on_token(const struct control *on_entry, const struct signing *signing)
{
    int token_lock = lock_file(TOKEN_LOCK_FILE);
    if (token_lock < 0) return CKR_GENERAL_ERROR;
    double started = now_ms();
    bool ours_to_end = false;
    struct control control;
    /* Read again: waiting for the lock may have taken long. */
    CK_RV rv = observe_token(&control);
    if (rv == CKR_OK && control.present && control.insertion == on_entry->insertion) {
        unsigned long jitter = control.sign_jitter_ms > 0 ? (unsigned long)(random_fraction() * (double)(control.sign_jitter_ms + 1)) : 0;
        sleep_ms(control.sign_latency_ms + jitter);
        rv = observe_token(&control);
    }
    if (rv == CKR_OK && (!control.present || control.insertion != on_entry->insertion)) {
        rv = CKR_DEVICE_REMOVED;
        /* After a re-insertion the real session is closed and its handle may be another's; a pulled token keeps it. */
        ours_to_end = control.insertion == on_entry->insertion;
    } else if (rv == CKR_OK) {
        struct token_state state;
        bool device_error = false;
        rv = update_state(&control, STATE_SIGNATURE, &state, &device_error);
        if (rv == CKR_OK && device_error) {
            rv = CKR_DEVICE_ERROR;
            ours_to_end = true;
        } else if (rv == CKR_OK) {
            rv = real_signing(signing, signing->signature, signing->signature_len);
        }
    }
    if (ours_to_end) end_real_signing(signing);
    log_signature(started, now_ms(), rv);
    unlock_file(token_lock);
    return rv;
}

static CK_RV sc_Sign(CK_SESSION_HANDLE session, CK_BYTE_PTR data, CK_ULONG data_len, CK_BYTE_PTR signature, CK_ULONG_PTR signature_len)
{
    struct control control;
    CK_SESSION_HANDLE real_session;
    CK_RV rv = enter_session(session, &control, &real_session);
    if (rv != CKR_OK) return rv;
    if (data == NULL) return CKR_ARGUMENTS_BAD;
    /* Asking for the length is no signature: the token is not involved. */
    if (signature == NULL) return real->C_Sign(real_session, data, data_len, NULL, signature_len);
    struct signing signing = {
        .real_session = real_session, .data = data, .data_len = data_len, .signature = signature, .signature_len = signature_len};
    return sign_on_token(&control, &signing);
}

static CK_RV sc_SignFinal(CK_SESSION_HANDLE session, CK_BYTE_PTR signature, CK_ULONG_PTR signature_len)
{
    struct control control;
    CK_SESSION_HANDLE real_session;
    CK_RV rv = enter_session(session, &control, &real_session);
    if (rv != CKR_OK) return rv;
    if (signature == NULL) return real->C_SignFinal(real_session, NULL, signature_len);
    struct signing signing = {.real_session = real_session, .signature = signature, .signature_len = signature_len};
    return sign_on_token(&control, &signing);
}

/* ---- PINs: every check under the token lock; the user PIN's retry counter kept in the state file. ---- */

/* C_Login (new_pin == NULL) or C_SetPIN. */
struct pin_call {
    CK_SESSION_HANDLE real_session;
    CK_USER_TYPE user_type;
    CK_UTF8CHAR_PTR pin;
    CK_ULONG pin_len;
    CK_UTF8CHAR_PTR new_pin;
    CK_ULONG new_pin_len;
};

static CK_RV real_pin_call(const struct pin_call *call)
{
    if (call->new_pin != NULL) return real->C_SetPIN(call->real_session, call->pin, call->pin_len, call->new_pin, call->new_pin_len);
    return real->C_Login(call->real_session, call->user_type, call->pin, call->pin_len);
}

/* SoftHSM never locks a PIN: the counter lives here, and a locked PIN never reaches SoftHSM. Token lock held. */
static CK_RV counted_user_pin_call(const struct control *control, const struct pin_call *call)
{
    struct token_state state;
    CK_RV rv = update_state(control, STATE_READ, &state, NULL);
    if (rv != CKR_OK) return rv;
    if (user_pin_tries_left(control, &state) == 0) return CKR_PIN_LOCKED;
    rv = real_pin_call(call);
    CK_RV stored = CKR_OK;
    if (rv == CKR_PIN_INCORRECT) stored = update_state(control, STATE_WRONG_USER_PIN, &state, NULL);
    else if (rv == CKR_OK) stored = update_state(control, STATE_USER_PIN_VERIFIED, &state, NULL);
    return stored != CKR_OK ? stored : rv;
}

static CK_RV sc_Login(CK_SESSION_HANDLE session, CK_USER_TYPE user_type, CK_UTF8CHAR_PTR pin, CK_ULONG pin_len)
{
    struct control control;
    CK_SESSION_HANDLE real_session;
    CK_RV rv = enter_session(session, &control, &real_session);
    if (rv != CKR_OK) return rv;
    int token_lock = lock_file(TOKEN_LOCK_FILE);
    if (token_lock < 0) return CKR_GENERAL_ERROR;
    struct pin_call call = {.real_session = real_session, .user_type = user_type, .pin = pin, .pin_len = pin_len};
    /* CKU_CONTEXT_SPECIFIC re-enters the user's PIN, so it counts too. */
    rv = user_type == CKU_SO ? real_pin_call(&call) : counted_user_pin_call(&control, &call);
    unlock_file(token_lock);
    return rv;
}

/* The SO's unlock: setting a new user PIN clears the counter and the lock. */
static CK_RV sc_InitPIN(CK_SESSION_HANDLE session, CK_UTF8CHAR_PTR pin, CK_ULONG pin_len)
{
    struct control control;
    CK_SESSION_HANDLE real_session;
    CK_RV rv = enter_session(session, &control, &real_session);
    if (rv != CKR_OK) return rv;
    int token_lock = lock_file(TOKEN_LOCK_FILE);
    if (token_lock < 0) return CKR_GENERAL_ERROR;
    struct token_state state;
    rv = real->C_InitPIN(real_session, pin, pin_len);
    if (rv == CKR_OK) rv = update_state(&control, STATE_USER_PIN_VERIFIED, &state, NULL);
    unlock_file(token_lock);
    return rv;
}

/* In an SO session C_SetPIN changes the SO PIN; otherwise the user's, after checking the old one like a login. */
static CK_RV sc_SetPIN(CK_SESSION_HANDLE session, CK_UTF8CHAR_PTR old_pin, CK_ULONG old_len, CK_UTF8CHAR_PTR new_pin, CK_ULONG new_len)
{
    struct control control;
    CK_SESSION_HANDLE real_session;
    CK_RV rv = enter_session(session, &control, &real_session);
    if (rv != CKR_OK) return rv;
    CK_SESSION_INFO info;
    rv = real->C_GetSessionInfo(real_session, &info);
    if (rv != CKR_OK) return rv;
    int token_lock = lock_file(TOKEN_LOCK_FILE);
    if (token_lock < 0) return CKR_GENERAL_ERROR;
    struct pin_call call = {
        .real_session = real_session, .pin = old_pin, .pin_len = old_len, .new_pin = new_pin, .new_pin_len = new_len};
    rv = info.state == CKS_RW_SO_FUNCTIONS ? real_pin_call(&call) : counted_user_pin_call(&control, &call);
    unlock_file(token_lock);
    return rv;
}

/* ---- Sessions: handles of this module's own, so that a re-inserted token can invalidate them. ---- */

static bool grow_sessions(void)
{
    size_t capacity = session_capacity == 0 ? 8 : session_capacity * 2;
    struct session *grown = realloc(sessions, capacity * sizeof *grown);
    if (grown == NULL) return false;
    sessions = grown;
    session_capacity = capacity;
    return true;
}

static CK_RV sc_OpenSession(CK_SLOT_ID slot, CK_FLAGS flags, CK_VOID_PTR application, CK_NOTIFY notify, CK_SESSION_HANDLE_PTR handle)
{
    /* SoftHSM never calls back, and a callback must not see SoftHSM's handles: neither is passed on. */
    (void)application;
    (void)notify;
    struct control control;
    CK_RV rv = enter_slot(slot, true, &control);
    if (rv != CKR_OK) return rv;
    if (handle == NULL) return CKR_ARGUMENTS_BAD;
    CK_SESSION_HANDLE real_handle;
    rv = real->C_OpenSession(real_slot, flags, NULL, NULL, &real_handle);
    if (rv != CKR_OK) return rv;
    pthread_mutex_lock(&process_mutex);
    if (!initialized) {
        rv = CKR_CRYPTOKI_NOT_INITIALIZED;
    } else if (known_insertion != control.insertion) {
        rv = CKR_DEVICE_REMOVED;
    } else if (session_count == session_capacity && !grow_sessions()) {
        rv = CKR_HOST_MEMORY;
    } else {
        sessions[session_count++] = (struct session){.handle = next_session_handle, .real_handle = real_handle};
        *handle = next_session_handle++;
    }
    pthread_mutex_unlock(&process_mutex);
    if (rv != CKR_OK) real->C_CloseSession(real_handle);
    return rv;
}

static CK_RV sc_CloseSession(CK_SESSION_HANDLE session)
{
    struct control control;
    CK_SESSION_HANDLE real_handle = 0;
    pthread_mutex_lock(&process_mutex);
    CK_RV rv = observe_token_locked(&control);
    if (rv == CKR_OK) {
        struct session *found = find_session(session);
        if (found == NULL) {
            rv = CKR_SESSION_HANDLE_INVALID;
        } else {
            real_handle = found->real_handle;
            drop_session(found);
        }
    }
    pthread_mutex_unlock(&process_mutex);
    if (rv != CKR_OK) return rv;
    rv = real->C_CloseSession(real_handle);
    /* Cleaning up after a removed token always succeeds. */
    return control.present ? rv : CKR_OK;
}

static CK_RV sc_CloseAllSessions(CK_SLOT_ID slot)
{
    struct control control;
    CK_RV rv = enter_slot(slot, false, &control);
    if (rv != CKR_OK) return rv;
    pthread_mutex_lock(&process_mutex);
    for (size_t i = 0; i < session_count; i++) real->C_CloseSession(sessions[i].real_handle);
    session_count = 0;
    pthread_mutex_unlock(&process_mutex);
    return CKR_OK;
}

static CK_RV sc_GetSessionInfo(CK_SESSION_HANDLE session, CK_SESSION_INFO_PTR info)
{
    struct control control;
    CK_SESSION_HANDLE real_session;
    CK_RV rv = enter_session(session, &control, &real_session);
    if (rv != CKR_OK) return rv;
    rv = real->C_GetSessionInfo(real_session, info);
    if (rv == CKR_OK) info->slotID = slot_id(&control);
    return rv;
}

/* ---- Slots: one virtual slot, its id new with every insertion. ---- */

static CK_RV sc_GetSlotList(CK_BBOOL token_present, CK_SLOT_ID_PTR slots, CK_ULONG_PTR count)
{
    struct control control;
    CK_RV rv = observe_token(&control);
    if (rv != CKR_OK) return rv;
    if (count == NULL) return CKR_ARGUMENTS_BAD;
    /* An empty reader is still a slot, but not one with a token. */
    CK_ULONG listed = control.present || !token_present ? 1 : 0;
    if (slots != NULL && *count < listed) rv = CKR_BUFFER_TOO_SMALL;
    else if (slots != NULL && listed == 1) slots[0] = slot_id(&control);
    *count = listed;
    return rv;
}

static void set_padded_text(CK_UTF8CHAR *field, size_t size, const char *text)
{
    size_t length = strlen(text);
    memset(field, ' ', size);
    memcpy(field, text, length < size ? length : size);
}

static CK_RV sc_GetSlotInfo(CK_SLOT_ID slot, CK_SLOT_INFO_PTR info)
{
    struct control control;
    CK_RV rv = enter_slot(slot, false, &control);
    if (rv != CKR_OK) return rv;
    if (info == NULL) return CKR_ARGUMENTS_BAD;
    rv = real->C_GetSlotInfo(real_slot, info);
    if (rv != CKR_OK) return rv;
    set_padded_text(info->slotDescription, sizeof info->slotDescription, SLOT_DESCRIPTION);
    info->flags = CKF_REMOVABLE_DEVICE | CKF_HW_SLOT | (control.present ? CKF_TOKEN_PRESENT : 0);
    return CKR_OK;
}

static CK_RV sc_GetTokenInfo(CK_SLOT_ID slot, CK_TOKEN_INFO_PTR info)
{
    struct control control;
    CK_RV rv = enter_slot(slot, true, &control);
    if (rv != CKR_OK) return rv;
    if (info == NULL) return CKR_ARGUMENTS_BAD;
    rv = real->C_GetTokenInfo(real_slot, info);
    if (rv != CKR_OK) return rv;
    struct token_state state;
    rv = update_state(&control, STATE_READ, &state, NULL);
    if (rv != CKR_OK) return rv;
    info->flags &= ~(CKF_USER_PIN_COUNT_LOW | CKF_USER_PIN_FINAL_TRY | CKF_USER_PIN_LOCKED);
    info->flags |= user_pin_flags(&control, &state);
    return CKR_OK;
}

static CK_RV sc_GetMechanismList(CK_SLOT_ID slot, CK_MECHANISM_TYPE_PTR mechanisms, CK_ULONG_PTR count)
{
    struct control control;
    CK_RV rv = enter_slot(slot, true, &control);
    if (rv != CKR_OK) return rv;
    return real->C_GetMechanismList(real_slot, mechanisms, count);
}

static CK_RV sc_GetMechanismInfo(CK_SLOT_ID slot, CK_MECHANISM_TYPE type, CK_MECHANISM_INFO_PTR info)
{
    struct control control;
    CK_RV rv = enter_slot(slot, true, &control);
    if (rv != CKR_OK) return rv;
    return real->C_GetMechanismInfo(real_slot, type, info);
}

/* A token initialized afresh has a new SO PIN and no user PIN yet: nothing left to count. */
static CK_RV sc_InitToken(CK_SLOT_ID slot, CK_UTF8CHAR_PTR so_pin, CK_ULONG so_pin_len, CK_UTF8CHAR_PTR label)
{
    struct control control;
    CK_RV rv = enter_slot(slot, true, &control);
    if (rv != CKR_OK) return rv;
    int token_lock = lock_file(TOKEN_LOCK_FILE);
    if (token_lock < 0) return CKR_GENERAL_ERROR;
    struct token_state state;
    rv = real->C_InitToken(real_slot, so_pin, so_pin_len, label);
    if (rv == CKR_OK) rv = update_state(&control, STATE_USER_PIN_VERIFIED, &state, NULL);
    unlock_file(token_lock);
    return rv;
}

/* Like the eToken driver, and unlike SoftHSM's CKF_DONT_BLOCK form: no slot events at all, presence must be polled. */
static CK_RV sc_WaitForSlotEvent(CK_FLAGS flags, CK_SLOT_ID_PTR slot, CK_VOID_PTR reserved)
{
    (void)flags;
    (void)slot;
    (void)reserved;
    return CKR_FUNCTION_NOT_SUPPORTED;
}

/* ---- The library. ---- */

static CK_RV load_real_module(void)
{
    if (real != NULL) return CKR_OK;
    const char *path = getenv("SMARTCARD_SOFTHSM_MODULE");
    if (path == NULL || *path == '\0') path = DEFAULT_SOFTHSM_MODULE;
    void *library = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (library == NULL) {
        complain("cannot load %s: %s", path, dlerror());
        return CKR_GENERAL_ERROR;
    }
    CK_C_GetFunctionList get_function_list = (CK_C_GetFunctionList)dlsym(library, "C_GetFunctionList");
    if (get_function_list == NULL || get_function_list(&real) != CKR_OK || real == NULL) {
        complain("%s has no usable C_GetFunctionList", path);
        real = NULL;
        return CKR_GENERAL_ERROR;
    }
    return CKR_OK;
}

/*
 * The SoftHSM slot of the one initialized token in SOFTHSM2_CONF's tokendir,
 * as a reader holds one card (SoftHSM adds a slot with an empty token).
 * CKR_TOKEN_NOT_PRESENT when there is none, said only when `last`.
 */
static CK_RV find_real_slot(CK_SLOT_ID *slot, bool last)
{
    CK_SLOT_ID slots[16];
    CK_ULONG count = sizeof slots / sizeof slots[0];
    CK_RV rv = real->C_GetSlotList(CK_TRUE, slots, &count);
    if (rv == CKR_BUFFER_TOO_SMALL) count = sizeof slots / sizeof slots[0] + 1;
    else if (rv != CKR_OK) return rv;
    CK_ULONG initialized_tokens = 0;
    for (CK_ULONG i = 0; i < count && i < sizeof slots / sizeof slots[0]; i++) {
        CK_TOKEN_INFO info;
        if (real->C_GetTokenInfo(slots[i], &info) == CKR_OK && (info.flags & CKF_TOKEN_INITIALIZED)) {
            *slot = slots[i];
            initialized_tokens++;
        }
    }
    if (rv != CKR_BUFFER_TOO_SMALL && initialized_tokens == 0 && !last) return CKR_TOKEN_NOT_PRESENT;
    if (rv == CKR_BUFFER_TOO_SMALL || initialized_tokens != 1) {
        complain("SoftHSM (SOFTHSM2_CONF=%s) must hold exactly one initialized token, it holds %s%lu",
                 getenv("SOFTHSM2_CONF") ?: "unset", rv == CKR_BUFFER_TOO_SMALL ? "more than " : "", initialized_tokens);
        return CKR_GENERAL_ERROR;
    }
    return CKR_OK;
}

/* How many times C_Initialize looks for SoftHSM's token (see initialize_locked). */
#define TOKEN_SCANS 20

static CK_RV initialize_locked(void)
{
    const char *dir = getenv("SMARTCARD_CONTROL_DIR");
    if (dir == NULL || dir[0] != '/' || !copy_text(dir, control_dir, sizeof control_dir)) {
        complain("SMARTCARD_CONTROL_DIR must be the absolute path of the control directory");
        return CKR_GENERAL_ERROR;
    }
    CK_RV rv = load_real_module();
    if (rv != CKR_OK) return rv;
    /* Callers may sign from several threads (pkcs11js's async calls): SoftHSM must lock for itself. */
    CK_C_INITIALIZE_ARGS os_locking = {.flags = CKF_OS_LOCKING_OK};
    /*
     * SoftHSM skips a token whose files another process is writing while it
     * reads them ("Token integrity check failed"): when it finds none, it
     * looks again a few times before the card counts as missing.
     */
    for (int attempt = 1;; attempt++) {
        rv = real->C_Initialize(&os_locking);
        if (rv != CKR_OK) return rv;
        rv = find_real_slot(&real_slot, attempt == TOKEN_SCANS);
        if (rv != CKR_TOKEN_NOT_PRESENT) break;
        real->C_Finalize(NULL);
        sleep_ms(50);
    }
    struct control control;
    if (rv == CKR_OK) rv = read_control(&control);
    if (rv != CKR_OK) {
        real->C_Finalize(NULL);
        return rv;
    }
    known_insertion = control.insertion;
    session_count = 0;
    initialized = true;
    return CKR_OK;
}

static CK_RV sc_Initialize(CK_VOID_PTR init_args)
{
    CK_C_INITIALIZE_ARGS_PTR args = init_args;
    if (args != NULL && args->pReserved != NULL) return CKR_ARGUMENTS_BAD;
    pthread_mutex_lock(&process_mutex);
    CK_RV rv = initialized ? CKR_CRYPTOKI_ALREADY_INITIALIZED : initialize_locked();
    pthread_mutex_unlock(&process_mutex);
    return rv;
}

static CK_RV sc_Finalize(CK_VOID_PTR reserved)
{
    if (reserved != NULL) return CKR_ARGUMENTS_BAD;
    pthread_mutex_lock(&process_mutex);
    CK_RV rv = CKR_CRYPTOKI_NOT_INITIALIZED;
    if (initialized) {
        rv = real->C_Finalize(NULL);
        session_count = 0;
        initialized = false;
    }
    pthread_mutex_unlock(&process_mutex);
    return rv;
}

static CK_RV sc_GetInfo(CK_INFO_PTR info)
{
    pthread_mutex_lock(&process_mutex);
    bool ready = initialized;
    pthread_mutex_unlock(&process_mutex);
    return ready ? real->C_GetInfo(info) : CKR_CRYPTOKI_NOT_INITIALIZED;
}

static CK_FUNCTION_LIST function_list = {
    .version = {.major = 2, .minor = 40},
    .C_Initialize = sc_Initialize,
    .C_Finalize = sc_Finalize,
    .C_GetInfo = sc_GetInfo,
    .C_GetFunctionList = C_GetFunctionList,
    .C_GetSlotList = sc_GetSlotList,
    .C_GetSlotInfo = sc_GetSlotInfo,
    .C_GetTokenInfo = sc_GetTokenInfo,
    .C_GetMechanismList = sc_GetMechanismList,
    .C_GetMechanismInfo = sc_GetMechanismInfo,
    .C_InitToken = sc_InitToken,
    .C_InitPIN = sc_InitPIN,
    .C_SetPIN = sc_SetPIN,
    .C_OpenSession = sc_OpenSession,
    .C_CloseSession = sc_CloseSession,
    .C_CloseAllSessions = sc_CloseAllSessions,
    .C_GetSessionInfo = sc_GetSessionInfo,
    .C_GetOperationState = sc_GetOperationState,
    .C_SetOperationState = sc_SetOperationState,
    .C_Login = sc_Login,
    .C_Logout = sc_Logout,
    .C_CreateObject = sc_CreateObject,
    .C_CopyObject = sc_CopyObject,
    .C_DestroyObject = sc_DestroyObject,
    .C_GetObjectSize = sc_GetObjectSize,
    .C_GetAttributeValue = sc_GetAttributeValue,
    .C_SetAttributeValue = sc_SetAttributeValue,
    .C_FindObjectsInit = sc_FindObjectsInit,
    .C_FindObjects = sc_FindObjects,
    .C_FindObjectsFinal = sc_FindObjectsFinal,
    .C_EncryptInit = sc_EncryptInit,
    .C_Encrypt = sc_Encrypt,
    .C_EncryptUpdate = sc_EncryptUpdate,
    .C_EncryptFinal = sc_EncryptFinal,
    .C_DecryptInit = sc_DecryptInit,
    .C_Decrypt = sc_Decrypt,
    .C_DecryptUpdate = sc_DecryptUpdate,
    .C_DecryptFinal = sc_DecryptFinal,
    .C_DigestInit = sc_DigestInit,
    .C_Digest = sc_Digest,
    .C_DigestUpdate = sc_DigestUpdate,
    .C_DigestKey = sc_DigestKey,
    .C_DigestFinal = sc_DigestFinal,
    .C_SignInit = sc_SignInit,
    .C_Sign = sc_Sign,
    .C_SignUpdate = sc_SignUpdate,
    .C_SignFinal = sc_SignFinal,
    .C_SignRecoverInit = sc_SignRecoverInit,
    .C_SignRecover = sc_SignRecover,
    .C_VerifyInit = sc_VerifyInit,
    .C_Verify = sc_Verify,
    .C_VerifyUpdate = sc_VerifyUpdate,
    .C_VerifyFinal = sc_VerifyFinal,
    .C_VerifyRecoverInit = sc_VerifyRecoverInit,
    .C_VerifyRecover = sc_VerifyRecover,
    .C_DigestEncryptUpdate = sc_DigestEncryptUpdate,
    .C_DecryptDigestUpdate = sc_DecryptDigestUpdate,
    .C_SignEncryptUpdate = sc_SignEncryptUpdate,
    .C_DecryptVerifyUpdate = sc_DecryptVerifyUpdate,
    .C_GenerateKey = sc_GenerateKey,
    .C_GenerateKeyPair = sc_GenerateKeyPair,
    .C_WrapKey = sc_WrapKey,
    .C_UnwrapKey = sc_UnwrapKey,
    .C_DeriveKey = sc_DeriveKey,
    .C_SeedRandom = sc_SeedRandom,
    .C_GenerateRandom = sc_GenerateRandom,
    .C_GetFunctionStatus = sc_GetFunctionStatus,
    .C_CancelFunction = sc_CancelFunction,
    .C_WaitForSlotEvent = sc_WaitForSlotEvent,
};

__attribute__((visibility("default"))) CK_RV C_GetFunctionList(CK_FUNCTION_LIST_PTR_PTR list)
{
    if (list == NULL) return CKR_ARGUMENTS_BAD;
    *list = &function_list;
    return CKR_OK;
}
