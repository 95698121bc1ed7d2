#include <stdio.h>

int main(void)
{
        puts("opsagent " PACKAGE_VERSION);
        return 0;
}
