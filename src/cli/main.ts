console.log('pocketkube: CLI not built yet');
