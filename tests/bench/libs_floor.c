/* Memory floor of the required libraries (a benchmark helper, not run by make check).
 *
 * Links exactly the libraries the agent links (libcurl, json-c, libsystemd, libcrypto,
 * expat, zlib, as the build found them) and does nothing else of the agent's, so that its
 * peak RSS is what any program using them pays before doing any work of its own:
 *   tests/bench/libs_floor load     loads them and exits
 *   tests/bench/libs_floor init     also initialises libcurl (which initialises OpenSSL),
 *                                   opens one easy handle and computes one HMAC-SHA256,
 *                                   the least a SigV4-signed request needs
 * Each library is referenced once, so that the linker keeps it even with --as-needed. */
#include <curl/curl.h>
#include <expat.h>
#include <json-c/json.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <string.h>
#include <systemd/sd-daemon.h>
#include <zlib.h>

static int init(void)
{
        unsigned char mac[EVP_MAX_MD_SIZE];
        unsigned int mac_len = 0;
        CURL *h;

        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
                fprintf(stderr, "libs_floor: curl_global_init failed\n");
                return 1;
        }
        h = curl_easy_init();
        if (!h) {
                fprintf(stderr, "libs_floor: curl_easy_init failed\n");
                curl_global_cleanup();
                return 1;
        }
        if (!HMAC(EVP_sha256(), "key", 3, (const unsigned char *)"data", 4, mac, &mac_len) || mac_len != 32) {
                fprintf(stderr, "libs_floor: HMAC-SHA256 failed\n");
                curl_easy_cleanup(h);
                curl_global_cleanup();
                return 1;
        }
        curl_easy_cleanup(h);
        curl_global_cleanup();
        return 0;
}

int main(int argc, char **argv)
{
        if (argc == 2 && strcmp(argv[1], "load") == 0)
                return 0;
        if (argc == 2 && strcmp(argv[1], "init") == 0)
                return init();
        if (argc == 2 && strcmp(argv[1], "versions") == 0) {
                /* Also what keeps every library linked. */
                printf("libcurl %s\njson-c %s\nexpat %s\nzlib %s\nOpenSSL %s\nsystemd booted: %d\n",
                       curl_version(), json_c_version(), XML_ExpatVersion(), zlibVersion(),
                       OpenSSL_version(OPENSSL_VERSION), sd_booted());
                return 0;
        }
        fprintf(stderr, "usage: %s load|init|versions\n", argv[0]);
        return 2;
}
