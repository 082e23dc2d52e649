/* Unit test: SHA-256 known answers and key field separation. */
#include "../src/cache/key.h"
#include "check.h"

int main(void) {
    char hex[ERYX__KEY_HEX_LEN + 1];
    /* FIPS 180-2 test vectors. */
    CHECK(eryx__sha256_hex("abc", 3, hex) == 0);
    CHECK_STR_EQ(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    CHECK(eryx__sha256_hex("", 0, hex) == 0);
    CHECK_STR_EQ(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");

    /* ("ab","c") and ("a","bc") must not collide: fields are length-prefixed. */
    char k1[65], k2[65], k3[65];
    eryx__key_ctx *c = eryx__key_begin();
    CHECK(c != NULL);
    eryx__key_add_str(c, "ab");
    eryx__key_add_str(c, "c");
    CHECK(eryx__key_end(c, k1) == 0);
    c = eryx__key_begin();
    eryx__key_add_str(c, "a");
    eryx__key_add_str(c, "bc");
    CHECK(eryx__key_end(c, k2) == 0);
    c = eryx__key_begin();
    eryx__key_add_str(c, "ab");
    eryx__key_add_str(c, "c");
    CHECK(eryx__key_end(c, k3) == 0);
    CHECK(strcmp(k1, k2) != 0);
    CHECK_STR_EQ(k1, k3); /* deterministic */
    CHECK(strlen(k1) == 64);
    return check_report("test_key");
}
