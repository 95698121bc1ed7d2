/* unattended_upgrades: the shipped default attributes and their schema (JSON texts handed to
 * the core through the recipe descriptor). */
#ifndef UU_ATTRS_H
#define UU_ATTRS_H

extern const char uu_defaults_json[];   /* the cookbook's defaults (sous-chefs/apt 2.7.0) */
extern const char uu_schema_json[];     /* closed: every key typed, no other key allowed */

#endif
