/* Stand-in "VE code" for the exec tests: an x86-64 shared object that
 * veo_load_library loads into the VE process. Pointers it gets are VEMVAs,
 * which the VE process maps, so it dereferences them like VE code would. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

uint64_t ve_add(uint64_t a, uint64_t b) {
    return a + b;
}

uint64_t ve_nothing(void) {
    return 0;
}

/* Each type comes back widened as C widens it, so sign handling shows. */
int64_t ve_echo_i64(int64_t v) {
    return v;
}
uint64_t ve_echo_u64(uint64_t v) {
    return v;
}
int64_t ve_echo_i32(int32_t v) {
    return v;
}
uint64_t ve_echo_u32(uint32_t v) {
    return v;
}
int64_t ve_echo_i16(int16_t v) {
    return v;
}
uint64_t ve_echo_u16(uint16_t v) {
    return v;
}
int64_t ve_echo_i8(int8_t v) {
    return v;
}
uint64_t ve_echo_u8(uint8_t v) {
    return v;
}
uint64_t ve_double_bits(double v) {
    uint64_t b;
    memcpy(&b, &v, sizeof b);
    return b;
}
uint64_t ve_float_bits(float v) {
    uint32_t b;
    memcpy(&b, &v, sizeof b);
    return b;
}

/* Every type in one call, integer and floating registers interleaved. */
int64_t ve_all_types(int64_t a, uint64_t b, int32_t c, uint32_t d, int16_t e, uint16_t f, int8_t g,
                     uint8_t h, double x, float y) {
    return a + (int64_t)b + c + (int64_t)d + e + f + g + h + (int64_t)(x * 1000.0) +
           (int64_t)(y * 100.0f);
}

/* All VEO_MAX_NUM_ARGS arguments: most of them on the stack. */
uint64_t
ve_sum256(uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3, uint64_t a4, uint64_t a5, uint64_t a6,
          uint64_t a7, uint64_t a8, uint64_t a9, uint64_t a10, uint64_t a11, uint64_t a12,
          uint64_t a13, uint64_t a14, uint64_t a15, uint64_t a16, uint64_t a17, uint64_t a18,
          uint64_t a19, uint64_t a20, uint64_t a21, uint64_t a22, uint64_t a23, uint64_t a24,
          uint64_t a25, uint64_t a26, uint64_t a27, uint64_t a28, uint64_t a29, uint64_t a30,
          uint64_t a31, uint64_t a32, uint64_t a33, uint64_t a34, uint64_t a35, uint64_t a36,
          uint64_t a37, uint64_t a38, uint64_t a39, uint64_t a40, uint64_t a41, uint64_t a42,
          uint64_t a43, uint64_t a44, uint64_t a45, uint64_t a46, uint64_t a47, uint64_t a48,
          uint64_t a49, uint64_t a50, uint64_t a51, uint64_t a52, uint64_t a53, uint64_t a54,
          uint64_t a55, uint64_t a56, uint64_t a57, uint64_t a58, uint64_t a59, uint64_t a60,
          uint64_t a61, uint64_t a62, uint64_t a63, uint64_t a64, uint64_t a65, uint64_t a66,
          uint64_t a67, uint64_t a68, uint64_t a69, uint64_t a70, uint64_t a71, uint64_t a72,
          uint64_t a73, uint64_t a74, uint64_t a75, uint64_t a76, uint64_t a77, uint64_t a78,
          uint64_t a79, uint64_t a80, uint64_t a81, uint64_t a82, uint64_t a83, uint64_t a84,
          uint64_t a85, uint64_t a86, uint64_t a87, uint64_t a88, uint64_t a89, uint64_t a90,
          uint64_t a91, uint64_t a92, uint64_t a93, uint64_t a94, uint64_t a95, uint64_t a96,
          uint64_t a97, uint64_t a98, uint64_t a99, uint64_t a100, uint64_t a101, uint64_t a102,
          uint64_t a103, uint64_t a104, uint64_t a105, uint64_t a106, uint64_t a107, uint64_t a108,
          uint64_t a109, uint64_t a110, uint64_t a111, uint64_t a112, uint64_t a113, uint64_t a114,
          uint64_t a115, uint64_t a116, uint64_t a117, uint64_t a118, uint64_t a119, uint64_t a120,
          uint64_t a121, uint64_t a122, uint64_t a123, uint64_t a124, uint64_t a125, uint64_t a126,
          uint64_t a127, uint64_t a128, uint64_t a129, uint64_t a130, uint64_t a131, uint64_t a132,
          uint64_t a133, uint64_t a134, uint64_t a135, uint64_t a136, uint64_t a137, uint64_t a138,
          uint64_t a139, uint64_t a140, uint64_t a141, uint64_t a142, uint64_t a143, uint64_t a144,
          uint64_t a145, uint64_t a146, uint64_t a147, uint64_t a148, uint64_t a149, uint64_t a150,
          uint64_t a151, uint64_t a152, uint64_t a153, uint64_t a154, uint64_t a155, uint64_t a156,
          uint64_t a157, uint64_t a158, uint64_t a159, uint64_t a160, uint64_t a161, uint64_t a162,
          uint64_t a163, uint64_t a164, uint64_t a165, uint64_t a166, uint64_t a167, uint64_t a168,
          uint64_t a169, uint64_t a170, uint64_t a171, uint64_t a172, uint64_t a173, uint64_t a174,
          uint64_t a175, uint64_t a176, uint64_t a177, uint64_t a178, uint64_t a179, uint64_t a180,
          uint64_t a181, uint64_t a182, uint64_t a183, uint64_t a184, uint64_t a185, uint64_t a186,
          uint64_t a187, uint64_t a188, uint64_t a189, uint64_t a190, uint64_t a191, uint64_t a192,
          uint64_t a193, uint64_t a194, uint64_t a195, uint64_t a196, uint64_t a197, uint64_t a198,
          uint64_t a199, uint64_t a200, uint64_t a201, uint64_t a202, uint64_t a203, uint64_t a204,
          uint64_t a205, uint64_t a206, uint64_t a207, uint64_t a208, uint64_t a209, uint64_t a210,
          uint64_t a211, uint64_t a212, uint64_t a213, uint64_t a214, uint64_t a215, uint64_t a216,
          uint64_t a217, uint64_t a218, uint64_t a219, uint64_t a220, uint64_t a221, uint64_t a222,
          uint64_t a223, uint64_t a224, uint64_t a225, uint64_t a226, uint64_t a227, uint64_t a228,
          uint64_t a229, uint64_t a230, uint64_t a231, uint64_t a232, uint64_t a233, uint64_t a234,
          uint64_t a235, uint64_t a236, uint64_t a237, uint64_t a238, uint64_t a239, uint64_t a240,
          uint64_t a241, uint64_t a242, uint64_t a243, uint64_t a244, uint64_t a245, uint64_t a246,
          uint64_t a247, uint64_t a248, uint64_t a249, uint64_t a250, uint64_t a251, uint64_t a252,
          uint64_t a253, uint64_t a254, uint64_t a255) {
    return a0 * 1 + a1 * 2 + a2 * 3 + a3 * 4 + a4 * 5 + a5 * 6 + a6 * 7 + a7 * 8 + a8 * 9 +
           a9 * 10 + a10 * 11 + a11 * 12 + a12 * 13 + a13 * 14 + a14 * 15 + a15 * 16 + a16 * 17 +
           a17 * 18 + a18 * 19 + a19 * 20 + a20 * 21 + a21 * 22 + a22 * 23 + a23 * 24 + a24 * 25 +
           a25 * 26 + a26 * 27 + a27 * 28 + a28 * 29 + a29 * 30 + a30 * 31 + a31 * 32 + a32 * 33 +
           a33 * 34 + a34 * 35 + a35 * 36 + a36 * 37 + a37 * 38 + a38 * 39 + a39 * 40 + a40 * 41 +
           a41 * 42 + a42 * 43 + a43 * 44 + a44 * 45 + a45 * 46 + a46 * 47 + a47 * 48 + a48 * 49 +
           a49 * 50 + a50 * 51 + a51 * 52 + a52 * 53 + a53 * 54 + a54 * 55 + a55 * 56 + a56 * 57 +
           a57 * 58 + a58 * 59 + a59 * 60 + a60 * 61 + a61 * 62 + a62 * 63 + a63 * 64 + a64 * 65 +
           a65 * 66 + a66 * 67 + a67 * 68 + a68 * 69 + a69 * 70 + a70 * 71 + a71 * 72 + a72 * 73 +
           a73 * 74 + a74 * 75 + a75 * 76 + a76 * 77 + a77 * 78 + a78 * 79 + a79 * 80 + a80 * 81 +
           a81 * 82 + a82 * 83 + a83 * 84 + a84 * 85 + a85 * 86 + a86 * 87 + a87 * 88 + a88 * 89 +
           a89 * 90 + a90 * 91 + a91 * 92 + a92 * 93 + a93 * 94 + a94 * 95 + a95 * 96 + a96 * 97 +
           a97 * 98 + a98 * 99 + a99 * 100 + a100 * 101 + a101 * 102 + a102 * 103 + a103 * 104 +
           a104 * 105 + a105 * 106 + a106 * 107 + a107 * 108 + a108 * 109 + a109 * 110 +
           a110 * 111 + a111 * 112 + a112 * 113 + a113 * 114 + a114 * 115 + a115 * 116 +
           a116 * 117 + a117 * 118 + a118 * 119 + a119 * 120 + a120 * 121 + a121 * 122 +
           a122 * 123 + a123 * 124 + a124 * 125 + a125 * 126 + a126 * 127 + a127 * 128 +
           a128 * 129 + a129 * 130 + a130 * 131 + a131 * 132 + a132 * 133 + a133 * 134 +
           a134 * 135 + a135 * 136 + a136 * 137 + a137 * 138 + a138 * 139 + a139 * 140 +
           a140 * 141 + a141 * 142 + a142 * 143 + a143 * 144 + a144 * 145 + a145 * 146 +
           a146 * 147 + a147 * 148 + a148 * 149 + a149 * 150 + a150 * 151 + a151 * 152 +
           a152 * 153 + a153 * 154 + a154 * 155 + a155 * 156 + a156 * 157 + a157 * 158 +
           a158 * 159 + a159 * 160 + a160 * 161 + a161 * 162 + a162 * 163 + a163 * 164 +
           a164 * 165 + a165 * 166 + a166 * 167 + a167 * 168 + a168 * 169 + a169 * 170 +
           a170 * 171 + a171 * 172 + a172 * 173 + a173 * 174 + a174 * 175 + a175 * 176 +
           a176 * 177 + a177 * 178 + a178 * 179 + a179 * 180 + a180 * 181 + a181 * 182 +
           a182 * 183 + a183 * 184 + a184 * 185 + a185 * 186 + a186 * 187 + a187 * 188 +
           a188 * 189 + a189 * 190 + a190 * 191 + a191 * 192 + a192 * 193 + a193 * 194 +
           a194 * 195 + a195 * 196 + a196 * 197 + a197 * 198 + a198 * 199 + a199 * 200 +
           a200 * 201 + a201 * 202 + a202 * 203 + a203 * 204 + a204 * 205 + a205 * 206 +
           a206 * 207 + a207 * 208 + a208 * 209 + a209 * 210 + a210 * 211 + a211 * 212 +
           a212 * 213 + a213 * 214 + a214 * 215 + a215 * 216 + a216 * 217 + a217 * 218 +
           a218 * 219 + a219 * 220 + a220 * 221 + a221 * 222 + a222 * 223 + a223 * 224 +
           a224 * 225 + a225 * 226 + a226 * 227 + a227 * 228 + a228 * 229 + a229 * 230 +
           a230 * 231 + a231 * 232 + a232 * 233 + a233 * 234 + a234 * 235 + a235 * 236 +
           a236 * 237 + a237 * 238 + a238 * 239 + a239 * 240 + a240 * 241 + a241 * 242 +
           a242 * 243 + a243 * 244 + a244 * 245 + a245 * 246 + a246 * 247 + a247 * 248 +
           a248 * 249 + a249 * 250 + a250 * 251 + a251 * 252 + a252 * 253 + a253 * 254 +
           a254 * 255 + a255 * 256;
}

/* More integer and floating arguments than either kind has registers. */
int64_t ve_mixed40(int64_t i0, double d1, int64_t i2, double d3, int64_t i4, double d5, int64_t i6,
                   double d7, int64_t i8, double d9, int64_t i10, double d11, int64_t i12,
                   double d13, int64_t i14, double d15, int64_t i16, double d17, int64_t i18,
                   double d19, int64_t i20, double d21, int64_t i22, double d23, int64_t i24,
                   double d25, int64_t i26, double d27, int64_t i28, double d29, int64_t i30,
                   double d31, int64_t i32, double d33, int64_t i34, double d35, int64_t i36,
                   double d37, int64_t i38, double d39) {
    return (int64_t)((double)i0 * 1 + d1 * 2 + (double)i2 * 3 + d3 * 4 + (double)i4 * 5 + d5 * 6 +
                     (double)i6 * 7 + d7 * 8 + (double)i8 * 9 + d9 * 10 + (double)i10 * 11 +
                     d11 * 12 + (double)i12 * 13 + d13 * 14 + (double)i14 * 15 + d15 * 16 +
                     (double)i16 * 17 + d17 * 18 + (double)i18 * 19 + d19 * 20 + (double)i20 * 21 +
                     d21 * 22 + (double)i22 * 23 + d23 * 24 + (double)i24 * 25 + d25 * 26 +
                     (double)i26 * 27 + d27 * 28 + (double)i28 * 29 + d29 * 30 + (double)i30 * 31 +
                     d31 * 32 + (double)i32 * 33 + d33 * 34 + (double)i34 * 35 + d35 * 36 +
                     (double)i36 * 37 + d37 * 38 + (double)i38 * 39 + d39 * 40);
}

/* Stack arguments. */
uint64_t ve_stack_in(const uint8_t *buf, uint64_t len) {
    uint64_t s = 0;
    for (uint64_t i = 0; i < len; ++i)
        s += buf[i] * (i + 1);
    return s;
}
uint64_t ve_stack_out(uint8_t *buf, uint64_t len) {
    for (uint64_t i = 0; i < len; ++i)
        buf[i] = (uint8_t)(i * 3 + 1);
    return len;
}
uint64_t ve_stack_inout(int32_t *v, uint64_t n) {
    for (uint64_t i = 0; i < n; ++i)
        v[i] = v[i] * 2 + 1;
    return n;
}
/* in[i] + io[i] -> out[i], io[i] * 10 -> io[i]; returns the address of out
 * (a VEMVA). */
uint64_t ve_stack_multi(const int32_t *in, int32_t *out, uint64_t n, int32_t *io) {
    for (uint64_t i = 0; i < n; ++i) {
        out[i] = in[i] + io[i];
        io[i] *= 10;
    }
    return (uint64_t)(uintptr_t)out;
}

/* VE memory. */
uint64_t ve_fill(uint8_t *p, uint64_t len, uint64_t seed) {
    for (uint64_t i = 0; i < len; ++i)
        p[i] = (uint8_t)(seed + i * 7);
    return len;
}
uint64_t ve_sum(const uint8_t *p, uint64_t len) {
    uint64_t s = 0;
    for (uint64_t i = 0; i < len; ++i)
        s += p[i];
    return s;
}
uint64_t ve_load64(const uint64_t *p) {
    return *p;
}
uint64_t ve_store64(uint64_t *p, uint64_t v) {
    *p = v;
    return v;
}

/* Order: log[0] counts the entries that follow. */
uint64_t ve_append(uint64_t *log, uint64_t v) {
    log[1 + log[0]] = v;
    return ++log[0];
}

uint64_t ve_sleep_us(uint64_t us) {
    struct timespec ts = {(time_t)(us / 1000000), (long)(us % 1000000) * 1000};
    nanosleep(&ts, NULL);
    return us;
}

/* Sleeps, then stores: a later synchronous read must see the store. */
uint64_t ve_sleep_then_store(uint64_t *p, uint64_t v, uint64_t us) {
    ve_sleep_us(us);
    *p = v;
    return v;
}

/* Crashes. */
volatile uintptr_t ve_bad_address = 8; /* volatile: the compiler cannot see the fault */
uint64_t ve_segv(void) {
    volatile uint64_t *p = (volatile uint64_t *)ve_bad_address;
    *p = 1;
    return 0;
}
uint64_t ve_abort(void) {
    abort();
}

/* Deep recursion that needs a big stack (about 80 bytes per level). The
 * call goes through a volatile pointer so that no compiler turns it into a
 * loop. */
uint64_t ve_recurse(uint64_t n);
uint64_t (*volatile ve_recurse_next)(uint64_t) = ve_recurse;
uint64_t ve_recurse(uint64_t n) {
    volatile char pad[48];
    pad[0] = (char)n;
    if (n == 0)
        return 0;
    uint64_t r = ve_recurse_next(n - 1);
    return r + 1 + (uint64_t)(pad[0] & 0);
}
