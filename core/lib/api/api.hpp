// Marks the functions this library exports; everything else stays hidden.
#pragma once

#define VEO_API extern "C" __attribute__((visibility("default")))
