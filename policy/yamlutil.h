/* policy/yamlutil.h */
